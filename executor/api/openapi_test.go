package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

type openAPIDoc struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"`
}

type openAPIOperation struct {
	Responses map[string]any `yaml:"responses"`
	Security  *[]any         `yaml:"security"`
}

var httpMethods = []string{"get", "put", "post", "patch", "delete"}

// The document and the server describe the same API: every documented
// operation is served (and answers with one of its documented statuses),
// and every served route is documented.
func TestOpenAPIDocumentMatchesServer(t *testing.T) {
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for method, node := range item {
			if !slices.Contains(httpMethods, method) {
				continue // path-level parameters
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	served := map[string]route{}
	for _, rt := range routes {
		served[rt.method+" "+rt.path] = rt
	}
	for key := range served {
		if _, ok := documented[key]; !ok {
			t.Errorf("route %s is served but not documented", key)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			t.Errorf("operation %s is documented but not served", key)
		}
	}

	e := newEnv(t, ordersCatalog(), nil)
	ctx := context.Background()
	if _, err := e.client.CreateTask(ctx, manualSpec("doc-task")); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "doc-task", task.PhaseFull)
	if _, err := e.client.PutRole(ctx, "doc-role", task.RoleInput{OSSAccessKeyID: "a", OSSAccessKeySecret: "b"}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{
		"PUT /v1/roles/{name}":           `{"oss_access_key_id":"a","oss_access_key_secret":"b"}`,
		"POST /v1/tasks":                 `{"name":"doc-two","table":"orders","bucket":"lake","prefix":"p"}`,
		"PATCH /v1/tasks/{table}/{name}": `{"flush_interval_seconds":60}`,
	}
	// Deletes last, so the other calls find the objects.
	keys := make([]string, 0, len(documented))
	for k := range documented {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		da, db := strings.HasPrefix(a, "DELETE"), strings.HasPrefix(b, "DELETE")
		if da != db {
			if da {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		concrete := strings.NewReplacer("{table}", "orders", "{name}", "doc-task").Replace(path)
		if strings.HasPrefix(path, "/v1/roles/") {
			concrete = strings.ReplaceAll(path, "{name}", "doc-role")
		}
		if strings.HasSuffix(path, "/ddl") {
			concrete += "?dialect=hive"
		}
		var body io.Reader
		if b, ok := bodies[key]; ok {
			body = strings.NewReader(b)
		}
		token := testToken
		op := documented[key]
		if op.Security != nil && len(*op.Security) == 0 {
			token = "" // documented as public: must work without a token
		}
		resp := e.do(method, concrete, token, body)
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status := resp.StatusCode
		if _, ok := op.Responses[http.StatusText(status)]; !ok {
			if _, ok := op.Responses[itoa(status)]; !ok {
				t.Errorf("%s %s answered %d (%s), which the document does not list", method, concrete, status, firstLine(data))
			}
		}
		if status >= 400 {
			t.Errorf("%s %s answered %d: %s", method, concrete, status, firstLine(data))
		}
		if strings.HasPrefix(path, "/v1/") && status < 300 && len(data) > 0 && !json.Valid(data) {
			t.Errorf("%s %s answered invalid JSON", method, concrete)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, ordersCatalog(), nil)
	resp := e.do(http.MethodGet, "/openapi.yaml", "", nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(data) != string(OpenAPIDocument) {
		t.Fatalf("/openapi.yaml = %d, %d bytes", resp.StatusCode, len(data))
	}
}
