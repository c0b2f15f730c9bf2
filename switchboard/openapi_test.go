package switchboard

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadOpenAPI parses and validates openapi.yaml as an OpenAPI 3 document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// securityOf names the security schemes an operation accepts, falling back to the
// document's default: "" for public, else the sorted scheme names joined by "+".
func securityOf(doc *openapi3.T, op *openapi3.Operation) string {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	var names []string
	for _, req := range reqs {
		for name := range req {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

// wantSecurity is what the document must declare for each kind of route access.
var wantSecurity = map[access]string{
	public:        "",
	anyPrincipal:  "bearer+session",
	clinicianOnly: "bearer+session",
	adminOnly:     "bearer+session",
	metricsOnly:   "metrics",
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t)

	served := map[string]access{}
	for _, rt := range e.srv.routes() {
		served[rt.method+" "+rt.path] = rt.access
	}
	documented := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = securityOf(doc, op)
		}
	}

	for op, acc := range served {
		sec, ok := documented[op]
		if !ok {
			t.Errorf("route %s is served but not in openapi.yaml", op)
			continue
		}
		if want := wantSecurity[acc]; sec != want {
			t.Errorf("openapi.yaml: %s declares security %q, want %q for how the router authenticates it", op, sec, want)
		}
	}
	for op := range documented {
		if _, ok := served[op]; !ok {
			t.Errorf("openapi.yaml documents %s, which the router does not serve", op)
		}
	}
	if len(documented) != len(served) || len(served) < 10 {
		t.Errorf("got %d documented and %d served operations, want the same number (at least 10)", len(documented), len(served))
	}
}

// The document must fail validation when it is broken, or the test above proves nothing.
func TestOpenAPIValidationCatchesMistakes(t *testing.T) {
	tests := map[string][2]string{
		"dangling reference": {"#/components/responses/Error", "#/components/responses/Nope"},
		"flow-style slip":    {`description: "After start, at most 24 h later."`, `description: After start, at most 24 h later.`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(openAPIDoc), tt[0]) {
				t.Fatalf("openapi.yaml no longer contains %q; pick another mistake", tt[0])
			}
			broken := strings.Replace(string(openAPIDoc), tt[0], tt[1], 1)
			doc, err := openapi3.NewLoader().LoadFromData([]byte(broken))
			if err == nil {
				err = doc.Validate(context.Background())
			}
			if err == nil {
				t.Fatal("got a valid document, want a validation error")
			}
		})
	}
}
