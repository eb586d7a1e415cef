package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MinWindowWidth is the narrowest window headless Chromium opens: a
// narrower --window-size is widened to it. Narrower viewports (a phone's)
// are a frame of that width in such a window.
const MinWindowWidth = 500

// browserTimeout bounds one run of the browser.
const browserTimeout = 90 * time.Second

// Chromium is Debian's chromium, run headless once per call.
type Chromium struct{ bin string }

// FindChromium returns the chromium of the Debian package. It fails the
// test, with the command that installs it, when chromium is missing.
func FindChromium(t testing.TB) *Chromium {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: run `make deps` (tools/install-debian-packages: apt-get install chromium) (%v)", err)
	}
	return &Chromium{bin: bin}
}

// DOM loads url in a window width×height pixels (width at least
// MinWindowWidth) and returns the document as the browser holds it once
// loaded (--dump-dom).
func (c *Chromium) DOM(t testing.TB, url string, width, height int) string {
	t.Helper()
	if width < MinWindowWidth {
		t.Fatalf("DOM: a window %d pixels wide: Chromium opens none narrower than %d; use Layout for a narrower viewport", width, MinWindowWidth)
	}
	return c.run(t, url, width, height, "--dump-dom")
}

// Screenshot writes a PNG of what a viewport width×height pixels shows of
// url, the top of the page. A viewport narrower than MinWindowWidth is a
// frame of that width in a wider window, and the PNG is cut to it.
func (c *Chromium) Screenshot(t testing.TB, url, file string, width, height int) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	if width >= MinWindowWidth {
		c.run(t, url, width, height, "--screenshot="+shot)
	} else {
		c.run(t, framed(t, url, width, height, false), MinWindowWidth, height, "--screenshot="+shot)
	}
	img := readPNG(t, shot)
	if b := img.Bounds(); b.Dx() < width || b.Dy() < height {
		t.Fatalf("screenshot of %s: %dx%d pixels, want at least %dx%d", url, b.Dx(), b.Dy(), width, height)
	}
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := png.Encode(f, out); err != nil {
		t.Fatalf("write %s: %v", file, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Layout is what the browser measured of a page after laying it out.
type Layout struct {
	// Viewport is the width of the page's viewport in CSS pixels.
	Viewport int `json:"viewport"`
	// ScrollWidth is the width of the page's content: more than Viewport
	// means the page scrolls sideways.
	ScrollWidth int `json:"scrollWidth"`
	// Overflowing names the first 20 elements whose right edge passes the
	// viewport: tag.classes, their text and their right edge.
	Overflowing []string `json:"overflowing"`
	// Columns counts the columns of the CSS grid that each selector given
	// names (its computed grid-template-columns); -1 when nothing matches.
	Columns map[string]int `json:"columns"`
}

// Layout loads url in a frame width×height CSS pixels (inside a window at
// least MinWindowWidth wide), lays it out, and measures it with a script
// of the frame's parent: the page itself runs none. The page is loaded
// through a proxy on loopback that serves the frame's parent from the
// page's origin, so the script may read the page, and that drops the
// page's Content-Security-Policy and X-Frame-Options, which would forbid
// the frame; nothing else of the page changes.
func (c *Chromium) Layout(t testing.TB, url string, width, height int, grids ...string) Layout {
	t.Helper()
	dom := c.run(t, framed(t, url, width, height, true, grids...), max(width, MinWindowWidth), height, "--dump-dom")
	const open, end = `<pre id="testenv-layout">`, `</pre>`
	i := strings.Index(dom, open)
	if i < 0 {
		t.Fatalf("layout of %s: the measuring script wrote nothing:\n%s", url, dom)
	}
	raw, _, _ := strings.Cut(dom[i+len(open):], end)
	var l Layout
	if err := json.Unmarshal([]byte(html.UnescapeString(raw)), &l); err != nil {
		t.Fatalf("layout of %s: %v: %s", url, err, raw)
	}
	if l.Viewport != width {
		t.Fatalf("layout of %s: the viewport is %d pixels wide, not %d", url, l.Viewport, width)
	}
	return l
}

// run runs the browser headless on url in a window width×height with the
// extra flag and returns its standard output.
func (c *Chromium) run(t testing.TB, url string, width, height int, flag string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(),
		fmt.Sprintf("--window-size=%d,%d", width, height),
		flag, url)
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	var stdout strings.Builder
	stderr := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s %s: %v\n%s", flag, url, err, stderr.String())
	}
	return stdout.String()
}

// framed serves, on a proxy to page's origin, a page holding page in a
// frame width×height, and returns its URL. With measure, a script of that
// page measures the frame's page once everything loaded and writes a
// Layout as JSON into <pre id="testenv-layout">.
func framed(t testing.TB, page string, width, height int, measure bool, grids ...string) string {
	t.Helper()
	target, err := url.Parse(page)
	if err != nil {
		t.Fatalf("page URL %q: %v", page, err)
	}
	origin := &url.URL{Scheme: target.Scheme, Host: target.Host}
	proxy := httputil.NewSingleHostReverseProxy(origin)
	proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Del("Content-Security-Policy")
		r.Header.Del("X-Frame-Options")
		return nil
	}
	script := ""
	if measure {
		sel, err := json.Marshal(append([]string{}, grids...))
		if err != nil {
			t.Fatal(err)
		}
		script = strings.Replace(measureScript, "GRIDS", string(sel), 1)
	}
	src := target.RequestURI()
	if target.Fragment != "" {
		src += "#" + target.EscapedFragment()
	}
	const path = "/_testenv/frame"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff}iframe{border:0;display:block}</style></head>`+
			`<body><iframe id="page" src="%s" width="%d" height="%d"></iframe>%s</body></html>`,
			html.EscapeString(src), width, height, script)
	})
	mux.Handle("/", proxy)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + path
}

// measureScript measures the framed page once it loaded; GRIDS is replaced
// by the selectors of the grids to count the columns of.
const measureScript = `<script>
addEventListener('load', function () {
  var d = document.getElementById('page').contentDocument, e = d.documentElement, vw = e.clientWidth;
  var out = {viewport: vw, scrollWidth: e.scrollWidth, overflowing: [], columns: {}};
  d.querySelectorAll('body *').forEach(function (n) {
    var r = n.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 0.5 && out.overflowing.length < 20) {
      var cls = String(n.className || '').trim().split(/\s+/).filter(Boolean).join('.');
      out.overflowing.push(n.tagName.toLowerCase() + (cls ? '.' + cls : '') + ' ' + JSON.stringify((n.textContent || '').trim().slice(0, 40)) + ' right=' + Math.round(r.right));
    }
  });
  GRIDS.forEach(function (s) {
    var g = d.querySelector(s);
    out.columns[s] = g ? getComputedStyle(g).gridTemplateColumns.split(' ').filter(Boolean).length : -1;
  });
  var p = document.createElement('pre');
  p.id = 'testenv-layout';
  p.textContent = JSON.stringify(out);
  document.body.appendChild(p);
});
</script>`

func readPNG(t testing.TB, file string) image.Image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer func() { _ = f.Close() }()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	return img
}
