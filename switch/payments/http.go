package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/api"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// HTTPConfig are the API listener's limits.
type HTTPConfig struct {
	// MaxBodyBytes bounds a request body; a larger one is 400 body_too_large. Default 65536.
	MaxBodyBytes int64
	// RateLimit is the requests per second allowed per API key (429 with Retry-After beyond).
	// Default 2000; negative: no limit.
	RateLimit int
	// Ready reports whether the switch takes traffic (503 otherwise); nil: always.
	Ready func() error
}

const maxBodyBytesDefault = 64 << 10

// API is the HTTP face of the Service.
type API struct {
	svc      *Service
	store    *store.Store
	log      *zap.Logger
	cfg      HTTPConfig
	doc      *openapi3.T // as written: OpenAPI 3.1
	vdoc     *openapi3.T // the same document, read as 3.0 for request validation (see NewAPI)
	docJSON  []byte
	keys     keyCache
	inflight inFlight
	webhooks WebhookGuard
}

// WebhookGuard checks an endpoint URL before it is stored (nil: every URL is accepted).
type WebhookGuard func(ctx context.Context, rawURL string) error

// NewAPI builds the API over a service.
func NewAPI(svc *Service, cfg HTTPConfig, guard WebhookGuard) (*API, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = maxBodyBytesDefault
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 2000
	}
	doc, err := LoadDocument()
	if err != nil {
		return nil, err
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	// The document uses only what OpenAPI 3.0 and 3.1 mean alike, so requests are validated with
	// kin-openapi's 3.0 schema validator: for a 3.1 document it switches to a JSON Schema 2020-12
	// validator that compiles the schema (patterns included) again on every request, at 100 times
	// the cost. TestValidatorsAgree holds the two to the same verdicts on the test corpus.
	vdoc := *doc
	vdoc.OpenAPI = "3.0.3"
	a := &API{svc: svc, store: svc.d.Store, log: svc.d.Log, cfg: cfg, doc: doc, vdoc: &vdoc, docJSON: docJSON, webhooks: guard}
	a.keys.entries = map[string]keyEntry{}
	a.inflight.keys = map[string]struct{}{}
	return a, nil
}

// LoadDocument parses and validates api/openapi.yaml.
func LoadDocument() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	return doc, nil
}

type bodyKey struct{}

func bodyFrom(ctx context.Context) []byte {
	b, _ := ctx.Value(bodyKey{}).([]byte)
	return b
}

// readBody reads a request's body once, bounded, for validation, idempotency and the handler.
func (a *API) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := &Error{Status: http.StatusBadRequest, Code: CodeBodyTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", a.cfg.MaxBodyBytes)}
		if r.ContentLength > a.cfg.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			writeError(w, tooLarge, a.log)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, tooLarge, a.log)
			return
		case err != nil:
			writeError(w, errInvalid("", "the request body could not be read"), a.log)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
	})
}

// authenticated requires an API key on every route but the OpenAPI document.
func (a *API) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/openapi.json" {
			next.ServeHTTP(w, r)
			return
		}
		who, err := a.authenticate(r)
		if err != nil {
			writeError(w, err, a.log)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), who)))
	})
}

// ready answers 503 while the switch is starting or draining.
func (a *API) ready(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Ready != nil && r.URL.Path != "/v1/openapi.json" {
			if err := a.cfg.Ready(); err != nil {
				writeError(w, errUnavailable, a.log)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics answers 500 in the contract's shape if a handler panics (it never should).
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("payments api handler panicked", zap.String("route", r.URL.Path), zap.String("panic", fmt.Sprint(v)))
				if rec.status == 0 {
					writeError(rec, errors.New("panic"), nil)
				}
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers whether a handler wrote its status.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// validate checks a request against the OpenAPI document (parameters, headers, body: types,
// formats, patterns, unknown fields) before any handler sees it; a violation is 400 naming the
// field. It runs after routing: the route's pattern is the document's path.
func (a *API) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := chi.RouteContext(r.Context())
		path := rc.RoutePattern()
		item := a.vdoc.Paths.Value(path)
		if item == nil {
			next.ServeHTTP(w, r)
			return
		}
		op := item.GetOperation(r.Method)
		if op == nil {
			next.ServeHTTP(w, r)
			return
		}
		params := map[string]string{}
		for i, k := range rc.URLParams.Keys {
			params[k] = rc.URLParams.Values[i]
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params,
			Route:   &routers.Route{Spec: a.vdoc, Path: path, PathItem: item, Method: r.Method, Operation: op},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			writeError(w, validationError(err), a.log)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validationError turns a kin-openapi error into a 400 naming the field, in words that never
// quote the value (which may be a card number).
func validationError(err error) *Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return errInvalid("", "the request is not valid")
	}
	if re.Parameter != nil {
		return errInvalid(re.Parameter.Name, fmt.Sprintf("%s parameter %q is not valid", re.Parameter.In, re.Parameter.Name))
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		return errInvalid(field, schemaReason(se, field))
	}
	var syn *json.SyntaxError
	var ute *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "the request body is not valid JSON"}
	case errors.As(err, &ute):
		return errInvalid(ute.Field, "the request body has a value of the wrong type")
	}
	if strings.Contains(re.Reason, "Content-Type") || strings.Contains(err.Error(), "content type") {
		return errInvalid("Content-Type", "send the body as application/json")
	}
	if strings.Contains(err.Error(), "value is required but missing") || strings.Contains(err.Error(), "request body is required") {
		return errInvalid("", "a JSON request body is required")
	}
	if strings.Contains(err.Error(), "invalid character") || strings.Contains(err.Error(), "unexpected EOF") ||
		strings.Contains(err.Error(), "failed to decode") {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "the request body is not valid JSON"}
	}
	return errInvalid("", "the request body is not valid")
}

// schemaReason says what is wrong with a field from the schema keyword that failed.
func schemaReason(se *openapi3.SchemaError, field string) string {
	name := field
	if name == "" {
		name = "the request body"
	}
	switch se.SchemaField {
	case "required":
		return name + ": a required field is missing (" + maskCards(se.Reason) + ")"
	case "additionalProperties":
		return name + ": unknown field (" + maskCards(se.Reason) + ")"
	case "type":
		return name + ": wrong type (" + maskCards(se.Reason) + ")"
	case "pattern":
		return name + ": wrong format"
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		return name + ": out of range"
	case "minLength", "maxLength":
		return name + ": wrong length"
	case "enum":
		return name + ": not one of the allowed values"
	}
	return name + ": not valid"
}
