package httpapi

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Route describes, for the OpenAPI document, a route served by a plain net/http handler
// rather than through huma (ARD, /.well-known/…, health, metrics).
type Route struct {
	ID, Method, Path, Tag, Summary, Description string
	// Status is the success status (200 when 0); ContentType its media type
	// ("application/json" when empty); Body, when set, a value of the Go type of the success
	// body; Request, when set, a value of the Go type of the JSON request body.
	Status      int
	ContentType string
	Body        any
	Request     any
	// Query lists the query parameters (all optional strings), each "name: description".
	Query []string
	// Errors lists the failure statuses, each with its description.
	Errors map[int]string
}

// Describe adds r to api's OpenAPI document without serving anything: the handler is mounted
// on the mux elsewhere. Path parameters ({name}) are declared as required strings.
func Describe(api huma.API, r Route) {
	oapi := api.OpenAPI()
	schemaOf := func(v any) *huma.Schema {
		if v == nil {
			return nil
		}
		return oapi.Components.Schemas.Schema(reflect.TypeOf(v), true, "")
	}
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	op := &huma.Operation{OperationID: r.ID, Method: r.Method, Path: r.Path, Summary: r.Summary, Description: r.Description,
		Tags: []string{r.Tag}, Responses: map[string]*huma.Response{
			strconv.Itoa(status): {Description: http.StatusText(status), Content: map[string]*huma.MediaType{ct: {Schema: schemaOf(r.Body)}}},
		}}
	for _, seg := range strings.Split(r.Path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			op.Parameters = append(op.Parameters, &huma.Param{Name: strings.TrimSuffix(name, "}"), In: "path", Required: true, Schema: &huma.Schema{Type: "string"}})
		}
	}
	for _, q := range r.Query {
		name, desc, _ := strings.Cut(q, ":")
		op.Parameters = append(op.Parameters, &huma.Param{Name: name, In: "query", Description: strings.TrimSpace(desc), Schema: &huma.Schema{Type: "string"}})
	}
	if r.Request != nil {
		op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: schemaOf(r.Request)}}}
	}
	for code, desc := range r.Errors {
		op.Responses[strconv.Itoa(code)] = &huma.Response{Description: desc}
	}
	oapi.AddOperation(op)
}
