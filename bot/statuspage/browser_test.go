package statuspage

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// TestPageInBrowser lays the fixture's page out in Debian's headless
// Chromium: on a phone (390 pixels) the grid is one column and nothing
// passes the viewport's right edge; on a desktop the grid has a column per
// environment beside the tenants' and nothing overflows either; every
// cluster is in the document the browser built.
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	c := testenv.FindChromium(t)
	v := Build(fixture(t))
	var page bytes.Buffer
	require.NoError(t, Render(&page, v, 0))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page.Bytes())
	}))
	t.Cleanup(srv.Close)

	phone := c.Layout(t, srv.URL+"/", 390, 844, ".grid", ".wave")
	assert.Equal(t, 390, phone.ScrollWidth, "no sideways scrolling on a phone")
	assert.Empty(t, phone.Overflowing, "nothing passes the phone's right edge")
	assert.Equal(t, 1, phone.Columns[".grid"], "one column on a phone")

	desktop := c.Layout(t, srv.URL+"/", 1280, 900, ".grid")
	assert.Equal(t, 1280, desktop.ScrollWidth)
	assert.Empty(t, desktop.Overflowing)
	assert.Equal(t, 1+len(v.Fleet.Envs), desktop.Columns[".grid"], "the tenants' column, then one per environment")

	dom := c.DOM(t, srv.URL+"/", 1280, 900)
	for _, tn := range v.Fleet.Tenants {
		for _, cell := range tn.Cells {
			for _, cl := range cell.Clusters {
				assert.Contains(t, dom, `data-cluster="`+cl.Name+`" data-state="`+cl.State+`"`, cl.Name)
			}
		}
	}
	assert.Equal(t, 11, strings.Count(dom, `class="cluster `), "every cluster, the missing one included")
	assert.Contains(t, dom, `<p class="failing" data-action="post-report" data-wave="2">`, "the action that keeps failing")
}
