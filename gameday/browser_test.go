package gameday_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
	"vmstorm/gameday"
	"vmstorm/incident"
	"vmstorm/internal/chromiumtest"
)

// browser starts headless Chromium with networking kept off (every host
// but loopback resolves to nothing, and any proxy is a dead one) and gives
// a chromedp context on it; the test skips if Chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium, profile := chromiumtest.Find(t, "to play the game headless")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.WindowSize(1280, 1400),
		// Chromium may take long to start on a loaded machine: more than
		// chromedp's 20 s to print its DevTools address.
		chromedp.WSURLReadTimeout(2 * time.Minute),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// serving serves g on a free loopback port until the test ends.
func serving(t *testing.T, g *gameday.Game) *gameday.Server {
	t.Helper()
	srv, err := gameday.Listen(g, "127.0.0.1:0", gameday.NewToken())
	require.NoError(t, err)
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestPlayInTheBrowser plays a whole short game in headless Chromium: the
// page loads with no request leaving the machine, the charts draw, the
// player takes the controls, pauses both queues at 12:40 and fixes and
// restarts the janitor at 12:55, ends the game, and the scorecard shows
// the figures of the exported scenario replayed unpaced.
func TestPlayInTheBrowser(t *testing.T) {
	ctx := browser(t)
	sc := small(t, 7)
	whatIf, err := experiment.LoadExperiment("testdata/small-what-if.yaml")
	require.NoError(t, err)
	g, err := gameday.New(gameday.Options{Scenario: sc, Start: 30 * time.Minute, Pace: 2 * time.Second, Idle: time.Minute, WhatIf: whatIf})
	require.NoError(t, err)
	srv := serving(t, g)
	_, stop := running(t, g)
	defer stop()

	base := "http://" + srv.Addr()
	var mu sync.Mutex
	var elsewhere []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && !strings.HasPrefix(e.Request.URL, base+"/") {
			mu.Lock()
			elsewhere = append(elsewhere, e.Request.URL)
			mu.Unlock()
		}
	}))
	// dump says what the page shows, when a wait fails.
	dump := func(err error) string {
		if err == nil {
			return ""
		}
		shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`["clock", "status", "controls", "msg", "mine"].map(id => id + ": " + document.getElementById(id).textContent).join("; ")`))
		return shown
	}
	ink := func(ids string) string {
		return `[` + ids + `].map(id => { const c = document.getElementById(id), d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })`
	}
	err = chromedp.Do(ctx,
		seated(srv.URL()),
		pauseAt("12:40"),
		act("pause_builds"), // its queue: all
		pauseAt("12:55"),
		act("fix_cleanup_credentials"),
		act("restart_janitor"),
		chromedp.Click(chromedp.ID("inv-count_vms")),
		waitFor(`document.getElementById("reveals").textContent.includes("VMs on the cluster")`),
	)
	require.NoError(t, err, dump(err))
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](ink(`"c-vms", "c-backlog", "c-rates"`)))
	require.NoError(t, err)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("finish")),
		waitFor(`document.getElementById("sc-you") !== null && document.getElementById("sc-variant-0") !== null`),
	)
	require.NoError(t, err, dump(err))
	for i, n := range drawn {
		assert.Greater(t, n, 2000, "chart %d drew lines, axes and labels", i)
	}

	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`["sc-you", "sc-responders"].map(id => Array.from(document.getElementById(id).cells).slice(1).map(td => td.dataset.v))`))
	require.NoError(t, err)
	timelineInk, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](ink(`"c-timeline"`)))
	require.NoError(t, err)
	assert.Greater(t, timelineInk[0], 500, "the timeline chart of the actions drew")
	pageAfterTheEnd(t, ctx, 3+7) // the player's three actions and small.yaml's responders' seven

	// The exported scenario, replayed unpaced, gives the scorecard's figures.
	resp, err := http.Get(base + "/api/export?token=" + strings.TrimPrefix(srv.URL(), base+"/?token="))
	require.NoError(t, err)
	exported, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(exported))
	replayed, _ := replay(t, exported)
	want := gameday.ScoreOf("you", replayed)
	assert.Equal(t, figures(want), cells[0], "the scorecard's row is the exported scenario's replay")
	card, ok := g.Scorecard()
	require.True(t, ok)
	assert.Equal(t, figures(card.Responders), cells[1])

	tl := g.Timeline()
	for _, ev := range []incident.Event{
		{At: 40 * time.Minute, Action: "pause_builds", Args: incident.Args{Queue: "all"}},
		{At: 55 * time.Minute, Action: "fix_cleanup_credentials"},
		{At: 55 * time.Minute, Action: "restart_janitor"},
	} {
		assert.Contains(t, tl, ev, "the player's actions at the model times chosen")
	}
	assert.Len(t, tl, 4, "the fault and the three actions")
	mu.Lock()
	assert.Empty(t, elsewhere, "no request left the machine")
	mu.Unlock()

}

// pageAfterTheEnd checks the page once the game has ended and the
// scorecard shows, at the browser's width: nothing can be taken or asked
// for any more (the controls, the clock, the actions and investigations
// are disabled); the timeline chart's labels, as many as labels, do not
// overlap and stay on the canvas; the log tail wraps its lines rather than
// run past its right edge, which its lines would (the check has teeth).
func pageAfterTheEnd(t *testing.T, ctx context.Context, labels int) {
	t.Helper()
	enabled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
		"#take, #pause, #resume, #finish, #pauseat-go, #pace, #pauseat, #acts button, #acts select, #acts input, #invs button"))
		.filter(el => !el.disabled).map(el => el.id || el.tagName)`))
	require.NoError(t, err)
	assert.Empty(t, enabled, "nothing can be used once the game has ended")

	type box struct {
		X, Y, W, H float64
		Text       string
	}
	var boxes []box
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("c-timeline").dataset.boxes`))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(raw), &boxes))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("c-timeline").clientWidth`))
	require.NoError(t, err)
	assert.Len(t, boxes, labels, "a label for each action, the player's and the responders'")
	for i, a := range boxes {
		assert.True(t, a.X >= 0 && a.X+a.W <= width, "label %q within the canvas, 0 to %v: %+v", a.Text, width, a)
		for _, b := range boxes[i+1:] {
			overlap := a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
			assert.False(t, overlap, "the labels %q %+v and %q %+v overlap", a.Text, a, b.Text, b)
		}
	}

	fits, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`(() => {
		const l = document.getElementById("log"), wrapped = l.scrollWidth <= l.clientWidth;
		l.style.whiteSpace = "pre"; const wide = l.scrollWidth > l.clientWidth; l.style.whiteSpace = "";
		return [wrapped, wide]; })()`))
	require.NoError(t, err)
	assert.True(t, fits[1], "the log tail has a line wider than its box (else the next check proves nothing)")
	assert.True(t, fits[0], "the log tail's lines wrap: none runs past its right edge")
}

// waitFor waits, up to 20 s, until the page's expression expr is true.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := poll(ctx, t)
		if err != nil {
			err = fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return v, err
	}
}

// seated opens the game's page at url, takes the controls, and waits
// until the page says the player holds them.
func seated(url string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(url),
		waitFor(`document.body.dataset.ready === "1"`),
		chromedp.Click(chromedp.ID("take")),
		waitFor(`document.getElementById("controls").textContent === "you hold the controls"`),
	)
}

// act clicks action's button, and waits until the page lists action among
// the player's.
func act(action string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(chromedp.ID("act-"+action)),
		waitFor(`document.getElementById("mine").textContent.includes("`+action+`")`),
	)
}

// pauseAt asks, with the page's controls, for a pause at HH:MM of the
// model's calendar, and waits until the game is paused there.
func pauseAt(hhmm string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.ID("pauseat"), hhmm),
		chromedp.Click(chromedp.ID("pauseat-go")),
		waitFor(`document.getElementById("status").textContent === "paused" && document.getElementById("clock").textContent.endsWith("`+hhmm+`:00")`),
	)
}

// figures is a score as the scorecard's cells carry it (data-v): each
// time in hours, or empty for none, then the jobs delayed and VMs leaked.
func figures(s gameday.Score) []string {
	h := func(has bool, v float64) string {
		if !has {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return []string{h(s.HasDetect, s.Detect), h(s.HasMitigate, s.Mitigate), h(s.HasRecover, s.Recover),
		strconv.FormatInt(s.JobsDelayed, 10), strconv.FormatInt(s.VMsLeaked, 10)}
}

// smallPNG re-encodes a screenshot with a palette of 256 colours, at the
// best compression: a page of flat colours loses nothing a reader sees.
func smallPNG(t *testing.T, shot []byte) []byte {
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	pal := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(pal, img.Bounds(), img, img.Bounds().Min, draw.Src)
	var b bytes.Buffer
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, pal))
	return b.Bytes()
}

// TestScreenshots2015 takes docs/gameday.md's screenshots: it plays part
// of the 2015 game in headless Chromium (from its default start, 14:46; the
// janitor's logs read at 18:25, the queues paused at 18:30, the janitor
// fixed and restarted at 18:40, an aggressive cleanup from 19:00 to 20:00,
// then both queues resumed), ends it at 20:30, and
// shoots the page with the scorecard at 1280 and 1920 pixels wide into the
// directory GAMEDAY_SCREENSHOTS names; it checks the page after the end as
// the short game's test does. Opt-in, as it takes the real 2015 game:
//
//	GAMEDAY_SCREENSHOTS=$PWD/docs go test ./gameday -run Screenshots2015 -v
func TestScreenshots2015(t *testing.T) {
	dir := os.Getenv("GAMEDAY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set GAMEDAY_SCREENSHOTS to a directory to take docs/gameday.md's screenshots of the 2015 game")
	}
	ctx := browser(t)
	sc, whatIf, responders, start := responders2015(t)
	g, err := gameday.New(gameday.Options{Scenario: sc, Start: start, Pace: 2 * time.Second, Idle: time.Minute, WhatIf: whatIf})
	require.NoError(t, err)
	srv := serving(t, g)
	_, stop := running(t, g)
	defer stop()

	err = chromedp.Do(ctx,
		seated(srv.URL()),
		pauseAt("18:25"),
		chromedp.Click(chromedp.ID("inv-janitor_logs")), // 5 minutes: the game pauses again at 18:30
		waitFor(`document.getElementById("reveals").textContent.includes("vSphere log-in failed") &&
			document.getElementById("status").textContent === "paused" && document.getElementById("clock").textContent.endsWith("18:30:00")`),
		act("pause_builds"), // its queue: all
		pauseAt("18:40"),
		act("fix_cleanup_credentials"),
		act("restart_janitor"),
		pauseAt("19:00"),
		act("aggressive_cleanup"), // its rate: 50 VMs a second
		pauseAt("20:00"),
		act("normal_cleanup"),
		act("resume_builds"), // its queue: all
		pauseAt("20:30"),
		chromedp.Click(chromedp.ID("finish")),
		waitFor(`document.getElementById("sc-you") !== null && document.getElementById("sc-variant-5") !== null`),
	)
	require.NoError(t, err)
	n := 0
	for _, m := range responders {
		n += len(m.Events)
	}
	pageAfterTheEnd(t, ctx, 6+n)

	card, ok := g.Scorecard()
	require.True(t, ok)
	t.Logf("the scorecard: you %+v; responders %+v", card.Player, card.Responders)
	for _, v := range card.Variants {
		t.Logf("what-if %+v", v)
	}
	for _, w := range []int64{1280, 1920} {
		// Drawn at the new width: the page redraws its charts at its next
		// poll, each canvas then as wide as its box.
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(w, 1000), waitFor(fmt.Sprintf(`window.innerWidth === %d &&
			[...document.querySelectorAll("canvas")].every(c => c.width === Math.trunc(c.clientWidth * (window.devicePixelRatio || 1)))`, w))))
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("gameday-%d.png", w)), smallPNG(t, shot), 0o644))
	}
}
