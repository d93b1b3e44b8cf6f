// Package api holds the payments API's OpenAPI 3.1 document (openapi.yaml), the source of the
// generated server in switch/payments/apigen and of GET /v1/openapi.json.
package api

import _ "embed"

// OpenAPIYAML is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
