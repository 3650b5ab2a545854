package mapping

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		lowerFirst bool
		want       []string
		wantErr    string
	}{
		{in: "Name", want: []string{"Name"}},
		{in: "Name", lowerFirst: true, want: []string{"name"}},
		{in: "a.b", lowerFirst: true, want: []string{"a.b"}},
		{in: "$['address']['city']", want: []string{"address", "city"}},
		{in: `$["Address"]["City"]`, lowerFirst: true, want: []string{"address", "City"}},
		{in: "$['a.b']['c d']", want: []string{"a.b", "c d"}},
		{in: "$['a[0]']", want: []string{"a[0]"}},
		{in: "address[city]", want: []string{"address", "city"}},
		{in: "Properties[hs_lead_status]", lowerFirst: true, want: []string{"properties", "hs_lead_status"}},
		{in: "a[b][c]", want: []string{"a", "b", "c"}},
		{in: "a['b']", want: []string{"a", "b"}},
		{in: "items[0][name]", want: []string{"items", "0", "name"}},
		{in: "", wantErr: "empty"},
		{in: "$", wantErr: "names no field"},
		{in: "$address", wantErr: "expected `[`"},
		{in: "[a]", wantErr: "starts with `[`"},
		{in: "a[b", wantErr: "unclosed `[`"},
		{in: "a[]", wantErr: "empty segment"},
		{in: "$['a'", wantErr: "expected `]`"},
		{in: "$['a]", wantErr: "unclosed quote"},
		{in: "$['']", wantErr: "empty segment"},
		{in: "a[b]c", wantErr: "expected `[`"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			p, err := parsePath(tt.in, tt.lowerFirst)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parsePath(%q) = %v, %v; want an error containing %q", tt.in, p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePath(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, p.names()); diff != "" {
				t.Errorf("parsePath(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPathGet(t *testing.T) {
	t.Parallel()
	fields := map[string]any{
		"address": map[string]any{"city": "Paris", "Geo": map[string]any{"lat": 48.8}},
		"items":   []any{map[string]any{"name": "first"}, "second"},
		"empty":   nil,
		"name":    "Acme",
	}
	tests := []struct {
		path   string
		want   any
		wantOK bool
	}{
		{"name", "Acme", true},
		{"NAME", "Acme", true},
		{"address[city]", "Paris", true},
		{"address[CITY]", "Paris", true},
		{"address[geo][lat]", 48.8, true},
		{"$['address']['Geo']['lat']", 48.8, true},
		{"address[zip]", nil, true},
		{"address[city][x]", nil, true},
		{"name[x]", nil, true},
		{"empty[x]", nil, true},
		{"items[0][name]", "first", true},
		{"items[1]", "second", true},
		{"items[2]", nil, true},
		{"items[x]", nil, true},
		{"missing", nil, false},
		{"missing[x]", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			p, err := parsePath(tt.path, true)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.get(fields)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("get(%s) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
