package admission

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// responses recycles the buffers answers are built in.
var responses = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeResponse answers an admission.k8s.io/v1 AdmissionReview. The
// answer is built by hand: it has five fields, and the admitted case,
// by far the most frequent, is a constant around the uid.
func writeResponse(w http.ResponseWriter, uid string, out *outcome) {
	bp, _ := responses.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 512)
		bp = &b
	}
	b := appendResponse((*bp)[:0], uid, out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b) // the client went away; nothing to do
	*bp = b
	if cap(b) <= maxPooled {
		responses.Put(bp)
	}
}

func appendResponse(b []byte, uid string, out *outcome) []byte {
	b = append(b, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":`...)
	b = appendString(b, uid)
	if out.allowed {
		b = append(b, `,"allowed":true`...)
	} else {
		b = append(b, `,"allowed":false,"status":{"status":"Failure","code":403,"reason":"Forbidden","message":`...)
		b = appendString(b, out.message)
		b = append(b, '}')
	}
	if len(out.warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, wn := range out.warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, wn)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// appendString appends s as a JSON string. Printable ASCII without quotes
// or backslashes (uids, most messages) is copied; anything else goes
// through encoding/json, which also replaces invalid UTF-8.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, err := json.Marshal(s)
			if err != nil { // a string always marshals
				return append(b, `""`...)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
