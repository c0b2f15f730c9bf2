package switchboard

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
	"testing"
)

// openAPIOperations reads "METHOD /path" for every operation under the top-level paths:
// key of an OpenAPI document. It understands the block style openapi.yaml is written in
// (two-space indentation, path keys at level one, method keys at level two), which keeps
// the module free of a YAML dependency for one test.
func openAPIOperations(t *testing.T, doc []byte) []string {
	t.Helper()
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}
	var ops []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.Contains(line, "\t") {
			t.Fatalf("openapi.yaml line %d: tab in indentation", n)
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, _, isKey := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case indent == 0:
			inPaths = isKey && key == "paths"
		case !inPaths:
		case indent == 2 && isKey:
			if !strings.HasPrefix(key, "/") {
				t.Fatalf("openapi.yaml line %d: path %q does not start with /", n, key)
			}
			path = key
		case indent == 4 && isKey && methods[key]:
			ops = append(ops, strings.ToUpper(key)+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	documented := openAPIOperations(t, openAPIDoc)
	var served []string
	for _, rt := range e.srv.routes() {
		served = append(served, rt.method+" "+rt.path)
	}
	sort.Strings(served)
	in := func(list []string, s string) bool {
		i := sort.SearchStrings(list, s)
		return i < len(list) && list[i] == s
	}
	for _, op := range served {
		if !in(documented, op) {
			t.Errorf("route %s is served but not in openapi.yaml", op)
		}
	}
	for _, op := range documented {
		if !in(served, op) {
			t.Errorf("openapi.yaml documents %s, which the router does not serve", op)
		}
	}
	if len(documented) < 10 {
		t.Errorf("parsed only %d operations from openapi.yaml: %v", len(documented), documented)
	}
}
