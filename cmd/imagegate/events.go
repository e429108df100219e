package main

import (
	"fmt"
	"net/url"

	"github.com/fluxcd/pkg/runtime/events"
	ctrl "sigs.k8s.io/controller-runtime"
)

// eventsController is the reportingController of imagegate's events.
const eventsController = "imagegate-controller"

// recorders are the controller's two event recorders: events writes
// Kubernetes Events and posts them to notification-controller at
// --events-addr (Flux's recorder, as Flux's controllers use it); kube
// writes Kubernetes Events only, for the ImageGate's copy of each
// selection's event (internal/gate: selectionEvent).
type recorders struct {
	events, kube events.Recorder
}

func newRecorders(mgr ctrl.Manager, addr string) (recorders, error) {
	log := ctrl.Log.WithName("events")
	ev, err := events.NewRecorder(log, addr, eventsController, events.WithManager(mgr))
	if err != nil {
		return recorders{}, fmt.Errorf("--events-addr: %w", err)
	}
	kube, err := events.NewRecorder(log, "", eventsController, events.WithManager(mgr))
	if err != nil {
		return recorders{}, err
	}
	return recorders{events: ev, kube: kube}, nil
}

// checkEventsAddr refuses an --events-addr that is not an http(s) URL
// with a host: Flux's recorder would accept it and then fail every post.
func checkEventsAddr(addr string) error {
	if addr == "" {
		return nil
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--events-addr %q: want an http or https URL such as http://notification-controller.flux-system.svc.cluster.local./", addr)
	}
	return nil
}
