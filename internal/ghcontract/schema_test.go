package ghcontract

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	user := componentURL(response, "simple-user")
	tests := []struct {
		name string
		dir  direction
		in   string
		want string
	}{
		{"nullable type", response, `{"type": "string", "nullable": true, "example": "x", "description": "d"}`,
			`{"type": ["string", null]}`},
		{"nullable enum admits null", response, `{"type": "string", "enum": ["a"], "nullable": true}`,
			`{"type": ["string", "null"], "enum": ["a", null]}`},
		{"nullable reference", response, `{"$ref": "#/components/schemas/simple-user", "nullable": true, "description": "ignored"}`,
			`{"anyOf": [{"type": "null"}, {"$ref": "` + user + `"}]}`},
		{"nullable allOf", response, `{"nullable": true, "allOf": [{"$ref": "#/components/schemas/simple-user"}]}`,
			`{"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "` + user + `"}]}]}`},
		{"annotations and extensions dropped", request, `{"type": "object", "title": "t", "x-github": {"a": 1}, "deprecated": true, "readOnly": false, "default": 3}`,
			`{"type": "object"}`},
		{"formats kept only when checkable", response, `{"properties": {"a": {"type": "string", "format": "date-time"}, "b": {"type": "integer", "format": "int64"}}}`,
			`{"properties": {"a": {"type": "string", "format": "date-time"}, "b": {"type": "integer"}}}`},
		{"readOnly not required of requests", request, `{"required": ["id", "name"], "properties": {"id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}}`,
			`{"required": ["name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}`},
		{"readOnly required of responses", response, `{"required": ["id"], "properties": {"id": {"type": "integer", "readOnly": true}}}`,
			`{"required": ["id"], "properties": {"id": {"type": "integer"}}}`},
		{"writeOnly not required of responses", response, `{"required": ["secret"], "properties": {"secret": {"type": "string", "writeOnly": true}}}`,
			`{"required": [], "properties": {"secret": {"type": "string"}}}`},
		{"exclusive bounds", request, `{"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}`,
			`{"type": "number", "exclusiveMinimum": 0, "maximum": 9}`},
		{"additionalProperties schema", response, `{"additionalProperties": {"type": "string", "nullable": true}}`,
			`{"additionalProperties": {"type": ["string", "null"]}}`},
		{"additionalProperties false", response, `{"additionalProperties": false}`, `{"additionalProperties": false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := decode([]byte(tt.in))
			require.NoError(t, err)
			want, err := decode([]byte(strings.ReplaceAll(tt.want, `["string", null]`, `["string", "null"]`)))
			require.NoError(t, err)
			got, err := translate(in, tt.dir)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestTranslateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"reference outside schemas", `{"properties": {"a": {"$ref": "#/components/parameters/owner"}}}`,
			`properties/a: $ref "#/components/parameters/owner" does not name a schema in #/components/schemas`},
		{"properties not an object", `{"properties": []}`, "properties is []interface {}, want an object"},
		{"oneOf not a list", `{"oneOf": {"type": "string"}}`, "oneOf is map[string]interface {}, want an array"},
		{"schema not an object", `{"items": "string"}`, "items: schema is string, want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := decode([]byte(tt.in))
			require.NoError(t, err)
			_, err = translate(in, response)
			assert.EqualError(t, err, tt.want)
		})
	}
}
