// Package browsertest drives the consent portal and operator console in a
// real headless Chromium (Debian's chromium package, through
// github.com/chromedp/chromedp): a customer logs in, sees their consents
// and revokes one through the confirmation page; an operator searches and
// revokes with a reason. With the payments store on (portaltest.WithPayments),
// the customer sees their scheduled Pix payments and cancels one through
// its confirmation page, and an operator cancels another with a reason;
// each test then checks the store (status, cancelledFrom, history, the
// initiator's notice). Each step takes a screenshot that is decoded and
// checked to have rendered (expected width, height, not one flat colour).
//
// The tests need /usr/bin/chromium (or OFP_CHROMIUM=<path>); without it
// they FAIL with the install command, they never skip. CI installs it with
//
//	apt-get install -y chromium
//
// and runs `go test ./consent/portal/browsertest/`. Set
// OFP_SCREENSHOT_DIR to keep the PNGs. The package has no code of its own.
package browsertest
