package certs

import (
	"bytes"
	"crypto/x509"
	"time"
)

// Keys of the Secret.
const (
	KeyCABundle = "ca.crt"
	KeyCAKey    = "ca.key"
	KeyCert     = "tls.crt"
	KeyKey      = "tls.key"
)

// plan returns the Secret data that should be: data itself where it is
// still good, renewed parts where not (nil data: everything new). changed
// says whether it differs from data; next is when to look again.
func (o *Options) plan(data map[string][]byte, now time.Time) (out map[string][]byte, changed bool, next time.Time, err error) {
	out = map[string][]byte{}
	for _, k := range []string{KeyCABundle, KeyCAKey, KeyCert, KeyKey} {
		out[k] = data[k]
	}
	ca, caErr := decodePair(data[KeyCABundle], data[KeyCAKey])
	older := stillValidCAs(data[KeyCABundle], now)
	if caErr != nil || !ca.cert.IsCA || !now.Before(renewAt(ca.cert)) {
		if ca, err = newCA(o.ServiceName+"."+o.Namespace+" webhook CA", now, o.CAValidity); err != nil {
			return nil, false, time.Time{}, err
		}
		if _, out[KeyCAKey], err = ca.encode(); err != nil {
			return nil, false, time.Time{}, err
		}
	}
	// The current CA first, then the older ones until they expire.
	trusted := []*x509.Certificate{ca.cert}
	for _, c := range older {
		if !c.Equal(ca.cert) {
			trusted = append(trusted, c)
		}
	}
	out[KeyCABundle] = encodeCerts(trusted)

	serving, sErr := decodePair(data[KeyCert], data[KeyKey])
	if sErr != nil || !now.Before(renewAt(serving.cert)) || !servesHosts(serving.cert, o.hosts()) ||
		serving.cert.CheckSignatureFrom(ca.cert) != nil {
		if serving, err = newServing(ca, o.hosts(), now, o.CertValidity); err != nil {
			return nil, false, time.Time{}, err
		}
		if out[KeyCert], out[KeyKey], err = serving.encode(); err != nil {
			return nil, false, time.Time{}, err
		}
	}

	next = renewAt(serving.cert)
	for _, c := range trusted {
		if t := renewAt(c); c == ca.cert && t.Before(next) {
			next = t
		}
		if c != ca.cert && c.NotAfter.Before(next) {
			next = c.NotAfter
		}
	}
	for k, v := range out {
		if !bytes.Equal(v, data[k]) {
			changed = true
		}
	}
	return out, changed, next, nil
}

// stillValidCAs are the CA certificates of a bundle not expired at now; a
// bundle that does not parse has none.
func stillValidCAs(bundle []byte, now time.Time) []*x509.Certificate {
	all, err := decodeCerts(bundle)
	if err != nil {
		return nil
	}
	var out []*x509.Certificate
	for _, c := range all {
		if c.IsCA && now.Before(c.NotAfter) {
			out = append(out, c)
		}
	}
	return out
}
