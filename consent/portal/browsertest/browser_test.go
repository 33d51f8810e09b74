package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/consent"
	"github.com/ofp-dev/ofp/consent/portal/portaltest"
)

const width, height = 1280, 900

// browser starts a headless Chromium for the test, or fails saying how to
// install it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("OFP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium is required for the browser tests and was not found at %s (%v).\n"+
			"Install it with:  apt-get install -y chromium   (Debian; sudo if not root)\n"+
			"or set OFP_CHROMIUM to a Chromium/Chrome binary.", path, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "pt-BR"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// The first call starts the browser for the life of ctx: no timeout on it.
	require.NoError(t, chromedp.Do(ctx), "start Chromium at %s", path)
	tctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return tctx
}

// byID selects an element by an id that may hold ':' (consent URNs).
func byID(id string) string { return fmt.Sprintf(`[id=%q]`, id) }

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// submit clicks sel, which loads a new page, and waits until that page
// shows want: the old page is marked first, so an element of the same name
// on it cannot satisfy the wait.
func submit(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`)(ctx, t)
			return err
		}),
		chromedp.Click(css(sel)),
		chromedp.WaitVisible(css("body:not([data-stale]) "+want)),
	)
}

// shot takes a full-page screenshot, checks it rendered and keeps it.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	img, err := png.Decode(bytes.NewReader(buf))
	require.NoError(t, err, "screenshot %s is not a PNG", name)
	b := img.Bounds()
	require.Equal(t, width, b.Dx(), "screenshot %s width", name)
	require.GreaterOrEqual(t, b.Dy(), 300, "screenshot %s height", name)
	requireRendered(t, img, name)
	dir := os.Getenv("OFP_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644))
}

// requireRendered fails on a blank page: one colour everywhere, or almost.
func requireRendered(t *testing.T, img image.Image, name string) {
	t.Helper()
	b := img.Bounds()
	counts := map[[4]uint32]int{}
	total := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}]++
			total++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	require.GreaterOrEqual(t, len(counts), 16, "screenshot %s has %d colours: blank page?", name, len(counts))
	require.Less(t, float64(most)/float64(total), 0.97, "screenshot %s is %.1f%% one colour: blank page?", name, 100*float64(most)/float64(total))
}

// signInAs makes the browser send a staff user's Basic credentials with
// every request (the console has no login form).
func signInAs(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+portaltest.StaffPassword(user)))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
	require.NoError(t, err)
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	txt, err := chromedp.Run(ctx, chromedp.Text(css("body")))
	require.NoError(t, err)
	return txt
}

func TestCustomerSeesAndRevokesWithConfirmation(t *testing.T) {
	ctx := browser(t)
	e := portaltest.New(t, "sqlite", nil)
	s := e.Seeded
	base := e.Server.URL

	// The portal sends an anonymous visitor to the login form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/"),
		chromedp.WaitVisible(css("#document")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, base+"/portal/login", loc)
	shot(t, ctx, "01-login")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(css("#document"), portaltest.CustomerCPF),
		chromedp.SendKeys(css("#password"), portaltest.CustomerPassword),
		submit("#login", byID("c-"+s.Held)),
	))
	txt := bodyText(t, ctx)
	for _, want := range []string{"Dados enviados para Fintech Boa", "Dados trazidos de Banco Distante S.A.",
		"Os saldos das suas contas", "Conta ag0001-cc12345", "Ofertas personalizadas", "Válido até"} {
		require.Contains(t, txt, want)
	}
	require.NotContains(t, txt, s.Other)
	shot(t, ctx, "02-consents")

	// History opens without JavaScript (<details>).
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(css(byID("c-"+s.Held)+" summary"))))
	require.Contains(t, bodyText(t, ctx), "Autorizado")

	// Revoke: one action, then the confirmation page.
	require.NoError(t, chromedp.Do(ctx,
		submit(byID("c-"+s.Held)+" a.danger", "#confirm"),
	))
	txt = bodyText(t, ctx)
	require.Contains(t, txt, "Revogar este compartilhamento?")
	require.Contains(t, txt, "Fintech Boa deixará de receber seus dados imediatamente.")
	require.Contains(t, txt, "O uso “Estudos internos” ligado a ele também será revogado.")
	shot(t, ctx, "03-confirm-revoke")
	c, err := e.Store.Get(context.Background(), s.Held)
	require.NoError(t, err)
	require.Equal(t, consent.StatusAuthorised, c.Status, "nothing happens before the confirmation")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css(`input[name="also"]`)), // also revoke the ASK_CUSTOMER partner sharing
		submit("#confirm", "#flash"),
	))
	txt = bodyText(t, ctx)
	require.Contains(t, txt, "Pronto: a autorização foi revogada.")
	require.Contains(t, txt, "Encerrado por você: o compartilhamento foi revogado")
	shot(t, ctx, "04-revoked")

	c, err = e.Store.Get(context.Background(), s.Held)
	require.NoError(t, err)
	require.Equal(t, consent.StatusRejected, c.Status)
	require.Equal(t, consent.RejectedByUser, c.Rejection.RejectedBy)
	require.Equal(t, []string{s.Held}, e.Tokens.IDs())
	pc, err := e.Store.GetPurpose(context.Background(), s.PartnerAsk)
	require.NoError(t, err)
	require.Equal(t, consent.PurposeRevoked, pc.Status, "the box the customer ticked")
}

func TestOperatorSearchesAndRevokesWithReason(t *testing.T) {
	ctx := browser(t)
	e := portaltest.New(t, "sqlite", nil)
	s := e.Seeded
	base := e.Server.URL
	signInAs(t, ctx, portaltest.Operator)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(css("#search")),
		chromedp.SendKeys(css("#document"), portaltest.CustomerCPF),
		chromedp.SetValue(css("#status"), "AUTHORISED"),
		submit("#search-btn", "#results"),
	))
	total, err := chromedp.Run(ctx, chromedp.Text(css("#total")))
	require.NoError(t, err)
	require.Contains(t, total, "2 consentimento(s)")
	txt := bodyText(t, ctx)
	require.Contains(t, txt, s.Held)
	require.Contains(t, txt, s.Received)
	require.NotContains(t, txt, s.HeldAwaiting)
	shot(t, ctx, "05-console-search")

	require.NoError(t, chromedp.Do(ctx,
		submit(fmt.Sprintf(`a[href=%q]`, "/console/consents/"+s.Held), "#revoke-link"),
		submit("#revoke-link", "#reason"),
	))
	shot(t, ctx, "06-console-revoke-form")
	const reason = "Cliente relatou perda do celular"
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(css("#kind"), "CUSTOMER_REQUEST"),
		chromedp.SendKeys(css("#reason"), reason),
		submit("#confirm", "#flash"),
	))
	txt = bodyText(t, ctx)
	require.Contains(t, txt, "a autorização foi revogada")
	require.True(t, strings.Contains(txt, "Encerrado por você"), txt)
	shot(t, ctx, "07-console-revoked")

	h, err := e.Store.History(context.Background(), s.Held)
	require.NoError(t, err)
	last := h[len(h)-1]
	require.Equal(t, consent.EventRevokeByUser, last.Event)
	require.Equal(t, "operator:"+portaltest.Operator, last.Who)
	require.Equal(t, "CUSTOMER_REQUEST: "+reason, last.Reason)
	require.Equal(t, []string{s.Held}, e.Tokens.IDs())
}
