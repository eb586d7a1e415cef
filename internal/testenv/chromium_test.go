package testenv

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPage is two columns side by side down to 600 pixels, one below; its
// .wide element is as wide as asked, to overflow a narrow viewport.
const testPage = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0}.grid{display:grid;grid-template-columns:1fr 1fr}@media (max-width:600px){.grid{grid-template-columns:1fr}}</style></head>
<body><div class="grid"><div>one</div><div>two</div></div>WIDE</body></html>`

func pageServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The measuring frame must get past both.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		wide := ""
		if r.URL.Query().Get("wide") != "" {
			wide = `<div class="wide" style="width:` + r.URL.Query().Get("wide") + `px">too wide</div>`
		}
		_, _ = w.Write([]byte(strings.Replace(testPage, "WIDE", wide, 1)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestChromiumLayout(t *testing.T) {
	t.Parallel()
	c := FindChromium(t)
	base := pageServer(t)

	phone := c.Layout(t, base+"/?wide=300", 390, 844, ".grid", ".nothing")
	assert.Equal(t, 390, phone.ScrollWidth)
	assert.Empty(t, phone.Overflowing)
	assert.Equal(t, map[string]int{".grid": 1, ".nothing": -1}, phone.Columns, "one column below 600 pixels")

	over := c.Layout(t, base+"/?wide=700", 390, 844)
	assert.Equal(t, 700, over.ScrollWidth)
	require.Len(t, over.Overflowing, 1)
	assert.Equal(t, `div.wide "too wide" right=700`, over.Overflowing[0])

	desktop := c.Layout(t, base+"/?wide=700", 1280, 800, ".grid")
	assert.Equal(t, 1280, desktop.ScrollWidth)
	assert.Empty(t, desktop.Overflowing)
	assert.Equal(t, 2, desktop.Columns[".grid"])
}

func TestChromiumDOMAndScreenshot(t *testing.T) {
	t.Parallel()
	c := FindChromium(t)
	base := pageServer(t)
	assert.Contains(t, c.DOM(t, base+"/?wide=10", 800, 600), `<div class="wide" style="width:10px">too wide</div>`)

	file := filepath.Join(t.TempDir(), "phone.png")
	c.Screenshot(t, base+"/", file, 390, 300)
	img := readPNG(t, file)
	assert.Equal(t, 390, img.Bounds().Dx())
	assert.Equal(t, 300, img.Bounds().Dy())
}
