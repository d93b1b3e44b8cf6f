package payments

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"
)

// The API validates requests with kin-openapi's 3.0 validator over the 3.1 document (see NewAPI):
// on every body of the corpus, the JSON Schema 2020-12 validator that kin-openapi uses for 3.1
// gives the same verdict.
func TestValidatorsAgree(t *testing.T) {
	doc, err := LoadDocument()
	require.NoError(t, err)
	require.True(t, doc.IsOpenAPI31OrLater())
	as30 := *doc
	as30.OpenAPI = "3.0.3"
	bodies := []string{
		`{"amount": 1234, "currency": "USD", "reference": "order-1", "description": "d"}`,
		`{"amount": 1234, "currency": "USD", "reference": "order-1", "description": "d", "capture": "manual", "metadata": {"a": "b"},
		  "return_url": "https://shop.example/done", "card": {"number": "4111111111111111", "expiry_month": 12, "expiry_year": 2030, "cvc": "123", "holder_name": "A B"}}`,
		`{"amount": 12`, `[1]`, `"x"`, `null`, `{}`,
		`{"amount": "12", "currency": "USD", "reference": "r", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "admin": true}`,
		`{"amount": 0, "currency": "USD", "reference": "r", "description": "d"}`,
		`{"amount": 1.5, "currency": "USD", "reference": "r", "description": "d"}`,
		`{"amount": 1000000000000, "currency": "USD", "reference": "r", "description": "d"}`,
		`{"amount": 12, "currency": "usd", "reference": "r", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "r\u00e9", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "capture": "later"}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "card": {"number": "41111", "expiry_month": 1, "expiry_year": 2030}}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "card": {"number": "4111111111111111", "expiry_month": 13, "expiry_year": 2030}}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "card": {"number": "4111111111111111", "expiry_month": 1, "expiry_year": 2030, "pin": "1"}}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "metadata": {"a": 1}}`,
		`{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "return_url": "javascript:alert(1)"}`,
	}
	verdict := func(spec *openapi3.T, body string) bool {
		item := spec.Paths.Value("/v1/payments")
		req, err := http.NewRequest(http.MethodPost, "http://x/v1/payments", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req,
			Route:   &routers.Route{Spec: spec, Path: "/v1/payments", PathItem: item, Method: http.MethodPost, Operation: item.Post},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
		return err == nil
	}
	for _, b := range bodies {
		require.Equal(t, verdict(doc, b), verdict(&as30, b), "validators disagree on %s", b)
	}
	require.True(t, verdict(&as30, bodies[0]))
	require.False(t, verdict(&as30, bodies[8]), "unknown fields are refused")
}
