package switchboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/carebooth/carebooth/switchboard/api"
)

// maxBodyBytes bounds every request body; the largest legitimate one is a few hundred bytes.
const maxBodyBytes = 64 << 10

// fieldError is a validation failure of one request field.
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Msg }

func badField(field, format string, args ...any) *fieldError {
	return &fieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// timeRange reads the from and to query parameters (RFC 3339) over the defaults given,
// and checks that to is after from and the range spans at most max; span names the range
// in that error ("the range", "the import window").
func timeRange(qs url.Values, from, to time.Time, max time.Duration, span string) (time.Time, time.Time, *fieldError) {
	for _, x := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := qs.Get(x.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return from, to, badField(x.name, "%q is not an RFC 3339 time such as 2026-11-21T09:00:00Z", v)
			}
			*x.t = t
		}
	}
	if !to.After(from) {
		return from, to, badField("to", "must be after from")
	}
	if to.Sub(from) > max {
		return from, to, badField("to", "%s may span at most %d days", span, int(max/(24*time.Hour)))
	}
	return from, to, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) //nolint:errcheck // the client has gone; nothing to do
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, api.ErrorBody{Error: api.Error{Code: code, Message: fmt.Sprintf(format, args...)}})
}

func writeFieldError(w http.ResponseWriter, fe *fieldError) {
	writeJSON(w, http.StatusBadRequest, api.ErrorBody{Error: api.Error{Code: api.CodeBadRequest, Message: fe.Error(), Field: fe.Field}})
}

// validatable is implemented by every request body.
type validatable interface{ validate() *fieldError }

// decodeBody reads a strict JSON object into v and validates it. It writes the error
// response itself and reports whether the handler should go on.
//
// The body must be labelled application/json: a page on another site can send a
// text/plain or form body without a CORS preflight, never a JSON one.
func decodeBody(w http.ResponseWriter, r *http.Request, v validatable) bool {
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		writeError(w, http.StatusUnsupportedMediaType, api.CodeMediaType, "send the body as JSON with Content-Type: application/json, not %q", ct)
		return false
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		if _, rerr := dec.Token(); rerr != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			// The server's ReadTimeout passed: the connection is closed after this.
			writeError(w, http.StatusRequestTimeout, api.CodeBadRequest, "the request body arrived too slowly; send it all at once")
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body is larger than %d bytes", maxBodyBytes)
		case errors.As(err, &ute):
			field := jsonPath(ute.Field)
			if field == "" {
				writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body must be a JSON object, not %s", ute.Value)
				return false
			}
			writeFieldError(w, badField(field, "must be %s, not %s", jsonKind(ute.Type.Kind().String()), ute.Value))
		case errors.As(err, &se):
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body is not valid JSON (at byte %d): %v", se.Offset, se)
		case errors.Is(err, io.ErrUnexpectedEOF):
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body is not valid JSON: it ends in the middle of a value")
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body is empty, want a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			writeFieldError(w, badField(field, "unknown field"))
		default:
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body: %v", err)
		}
		return false
	}
	if fe := v.validate(); fe != nil {
		writeFieldError(w, fe)
		return false
	}
	return true
}

// isJSON reports whether a Content-Type is application/json, parameters aside.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct":
		return "an RFC 3339 time or an object"
	case "slice", "array":
		return "an array"
	case "map":
		return "an object"
	}
	return "a number"
}

// jsonPath is the request field an UnmarshalTypeError names, without the Go names of the
// embedded structs it passed through ("NewClinic.name" is "name"): every JSON name in the
// API is lower case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	for len(parts) > 1 && parts[0] != "" && unicode.IsUpper(rune(parts[0][0])) {
		parts = parts[1:]
	}
	return strings.Join(parts, ".")
}
