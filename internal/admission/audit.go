package admission

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// auditor writes one JSON line per request: who did what to which object,
// and for each image the decision, the path that decided and the reason.
// It never logs credentials: of userInfo only the username is read.
type auditor struct {
	log *slog.Logger
}

func newAuditor(w io.Writer) *auditor {
	return &auditor{log: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				a.Value = slog.StringValue(a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	}))}
}

// write logs the decision about rv. Decisions are logged at INFO, denials
// at WARN, so that a log pipeline can pick out denials by level.
func (a *auditor) write(ctx context.Context, at time.Time, rv *review, out *outcome, latency time.Duration) {
	level, decision := slog.LevelInfo, "allow"
	if !out.allowed {
		level, decision = slog.LevelWarn, "deny"
	}
	attrs := []slog.Attr{
		slog.String("uid", rv.UID),
		slog.String("user", rv.Username),
		slog.String("operation", rv.Operation),
		slog.String("kind", rv.Kind.String()),
		slog.String("namespace", rv.Namespace),
		slog.String("name", rv.displayName()),
		slog.String("decision", decision),
		slog.Float64("latencyMs", float64(latency.Microseconds())/1000),
	}
	if rv.DryRun {
		attrs = append(attrs, slog.Bool("dryRun", true))
	}
	if out.path != "" {
		attrs = append(attrs, slog.String("path", string(out.path)), slog.String("reason", string(out.reason)))
	}
	containers, volumes := imagesValues(out.images)
	if len(containers) > 0 {
		attrs = append(attrs, slog.Attr{Key: "containers", Value: slog.GroupValue(containers...)})
	}
	if len(volumes) > 0 {
		attrs = append(attrs, slog.Attr{Key: "volumes", Value: slog.GroupValue(volumes...)})
	}
	if out.message != "" {
		attrs = append(attrs, slog.String("message", out.message))
	}
	r := slog.NewRecord(at, level, "admission", 0)
	r.AddAttrs(attrs...)
	_ = a.log.Handler().Handle(ctx, r) // an audit writer that fails has nowhere to report
}

// imagesValues lists the verdicts as slog groups, which the JSON handler
// writes as nested objects without reflection: containers by container
// name (unique within a pod spec, init and ephemeral containers
// included), image volumes by volume name (unique among volumes, but a
// volume may share its name with a container, hence two objects):
//
//	"containers":{"web":{"image":"...","field":"containers","decision":"allow","path":"recorded",...}},
//	"volumes":{"models":{"image":"...","field":"volumes","decision":"deny","path":"denied",...}}
func imagesValues(results []imageResult) (containers, volumes []slog.Attr) {
	containers = make([]slog.Attr, 0, len(results)) // image volumes are rare
	for _, res := range results {
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs,
			slog.String("image", res.ref.Image),
			slog.String("field", res.ref.Field),
			slog.String("decision", imageDecision(res.v)),
			slog.String("path", string(res.v.Path)),
			slog.String("reason", string(res.v.Reason)))
		if res.v.Canonical != "" && res.v.Canonical != res.ref.Image {
			attrs = append(attrs, slog.String("canonical", res.v.Canonical))
		}
		if res.v.Policy != nil {
			attrs = append(attrs, slog.String("policy", res.v.Policy.Ref.Kind+"/"+res.v.Policy.Ref.String()))
		}
		if res.v.Digest != "" {
			attrs = append(attrs, slog.String("digest", res.v.Digest))
		}
		group := slog.Attr{Key: res.ref.Container, Value: slog.GroupValue(attrs...)}
		if res.ref.Field == fieldVolumes {
			volumes = append(volumes, group)
		} else {
			containers = append(containers, group)
		}
	}
	return containers, volumes
}

func imageDecision(v verdict) string {
	switch {
	case v.Warn:
		return "warn"
	case v.Allowed:
		return "allow"
	}
	return "deny"
}
