package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ofp-dev/ofp/authz/keys"
	"github.com/ofp-dev/ofp/authz/store"
	"github.com/ofp-dev/ofp/internal/config"
)

// How the servers share their keys (authz/keys on the authz store): each
// re-reads the store every keyReloadInterval, and a rotated-in key is
// published keyPublishAhead before any server signs with it, so that
// every replica (and every client refetching the JWKS) knows it first.
// Variables only so that tests can shorten them.
var (
	keyReloadInterval = 15 * time.Second
	keyPublishAhead   = 4 * keyReloadInterval
)

// moveFileKeys copies into the authz store the keys an earlier version
// kept in dir (one JWK Set file per brand), for the brands the store has
// no keys for yet. The files are left as they were.
func moveFileKeys(ctx context.Context, dir string, to *store.KeyStore, brands []keys.Brand, log *slog.Logger) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	from, err := keys.NewFileStore(dir)
	if err != nil {
		return err
	}
	ids := make([]string, len(brands))
	for i, b := range brands {
		ids[i] = b.ID
	}
	moved, err := keys.CopyMissing(ctx, from, to, ids)
	if err != nil {
		return fmt.Errorf("move the keys of %s into the authz store: %w", dir, err)
	}
	for _, id := range moved {
		log.Info("keys moved into the authz store, shared by every replica; the file is no longer read and can be deleted",
			"brand", id, "file", from.Path(id))
	}
	return nil
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name, rest, err := subcommand("keys", args, stdout, "list", "rotate", "reseal")
	if err != nil {
		return err
	}
	cfg := config.Default()
	var brand, use string
	fs := newFlagSet("keys "+name+" [flags]", keysSynopsis[name], keysExamples[name], stderr)
	cfg.Register(fs, config.FlagDataDir, config.FlagDatabaseURL, config.FlagSessionKey, config.FlagPreviousSessionKeys, config.FlagLogLevel, config.FlagLogFormat)
	if name == "rotate" {
		fs.StringVar(&brand, "brand", "", "the brand whose key to rotate (required)")
		fs.StringVar(&use, "use", "sig", "which key: sig (signs tokens) or enc (clients encrypt request objects to it)")
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openKeyStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	switch name {
	case "list":
		return listKeys(ctx, st.Keys(), stdout)
	case "reseal":
		return reseal(ctx, st, cfg, stdout)
	}
	if brand == "" {
		return exitError{2, errors.New("--brand is required: `ofp keys list` shows the brands")}
	}
	if use != string(keys.UseSig) && use != string(keys.UseEnc) {
		return exitError{2, fmt.Errorf("--use %q: give sig or enc", use)}
	}
	return rotateKey(ctx, st.Keys(), brand, keys.Use(use), stdout)
}

var keysSynopsis = map[string]string{
	"list": "Lists the authorization server's keys, per brand: which one each server signs with (or decrypts\n" +
		"with), which are published ahead of use, and until when retired ones stay published. It reads the\n" +
		"store the servers share (--database-url, or the SQLite file in --data-dir); no private material is printed.",
	"rotate": "Makes a new key the brand's signing (or encryption) key, in the store the servers share. Every\n" +
		"server publishes it within " + keyReloadInterval.String() + " and uses it " + keyPublishAhead.String() + " after the rotation; the previous\n" +
		"key stays published (tokens it signed keep verifying) for the retention (7 days). The servers keep\n" +
		"running; --session-key must be theirs (in demo it is read from --data-dir).",
	"reseal": "Rotates the session key's seal: re-encrypts, under --session-key, everything the authz store keeps\n" +
		"sealed (the servers' private keys, refresh tokens awaiting their code's redemption) that was sealed\n" +
		"with one of --previous-session-keys. Steps: restart the servers with the new --session-key and the\n" +
		"old one in --previous-session-keys; run this; restart them with the new key alone. Portal sessions\n" +
		"are not carried over (users sign in again) and failed-login counts restart.",
}

// reseal moves everything the store keeps sealed under the current seal
// key, so that the previous session keys can be dropped.
func reseal(ctx context.Context, st *store.Store, cfg config.Config, out io.Writer) error {
	if strings.TrimSpace(cfg.PreviousSessionKeys) == "" {
		return exitError{2, errors.New("--previous-session-keys is required: the keys being rotated out (prefer OFP_PREVIOUS_SESSION_KEYS)")}
	}
	nk, err := st.Keys().Reseal(ctx)
	if err != nil {
		return err
	}
	ng, err := st.ResealGrants(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "resealed %d keys and %d pending refresh tokens under the current --session-key.\n", nk, ng)
	fmt.Fprintf(out, "Next: restart every server with the new --session-key alone (drop --previous-session-keys).\n")
	return nil
}

var keysExamples = map[string]string{
	"list":   "  ofp keys list                              # the demo's keys in ./var\n  ofp keys list --database-url postgres://ofp@db/ofp --session-key \"$OFP_SESSION_KEY\"",
	"rotate": "  ofp keys rotate --brand ofp                # new signing key for brand ofp\n  ofp keys rotate --brand ofp --use enc      # new encryption key",
	"reseal": "  OFP_SESSION_KEY=$NEW OFP_PREVIOUS_SESSION_KEYS=$OLD ofp keys reseal --database-url postgres://ofp@db/ofp",
}

// openKeyStore opens the authz store the servers use: PostgreSQL with
// --database-url, else the SQLite file in the data dir (which must exist).
// The seal key comes from --session-key, or in demo from the data dir.
func openKeyStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	src := cfg.SessionKey
	if src == "" {
		b, err := os.ReadFile(cfg.Path("secrets", "seal.key"))
		if err != nil {
			return nil, errors.New("--session-key is required: the one the servers run with (prefer OFP_SESSION_KEY)")
		}
		src = strings.TrimSpace(string(b))
	}
	opts := store.Options{SealKey: sealKeyFrom(src), PreviousSealKeys: previousSealKeys(cfg), Logger: log}
	if cfg.DatabaseURL != "" {
		return store.OpenPostgres(ctx, cfg.DatabaseURL, opts)
	}
	path := cfg.Path("authz.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no authz store at %s: pass the servers' --database-url, or the --data-dir of `ofp demo`", path)
	}
	return store.OpenSQLite(ctx, path, opts)
}

func listKeys(ctx context.Context, ks *store.KeyStore, out io.Writer) error {
	brands, err := ks.Brands(ctx)
	if err != nil {
		return err
	}
	if len(brands) == 0 {
		fmt.Fprintln(out, "no keys stored yet: a server creates them when it first starts")
		return nil
	}
	now := time.Now().UTC()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BRAND\tUSE\tKID\tCREATED (UTC)\tSTATE")
	for _, b := range brands {
		records, err := ks.LoadBrand(ctx, b)
		if err != nil {
			return err
		}
		slices.SortStableFunc(records, func(a, b keys.Record) int {
			if a.Use != b.Use {
				return strings.Compare(string(b.Use), string(a.Use)) // sig, then enc
			}
			return b.CreatedAt.Compare(a.CreatedAt)
		})
		inUse := map[keys.Use]string{}
		for _, r := range keys.InUse(records, now) {
			inUse[r.Use] = r.KID
		}
		for _, r := range records {
			state := "retired " + stamp(r.RetiredAt)
			switch {
			case inUse[r.Use] == r.KID:
				state = "in use"
			case r.Pending(now):
				state = "published, in use from " + stamp(r.NotBefore)
			case r.Active():
				state = "published, superseded"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b, r.Use, r.KID, stamp(r.CreatedAt), state)
		}
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func rotateKey(ctx context.Context, ks *store.KeyStore, brandID string, use keys.Use, out io.Writer) error {
	before, err := ks.LoadBrand(ctx, brandID)
	if err != nil {
		return err
	}
	if len(before) == 0 {
		return fmt.Errorf("brand %q has no keys: `ofp keys list` shows the brands (a server creates a brand's keys when it first starts)", brandID)
	}
	// The manager only rotates: its issuer is never served.
	m, err := keys.NewManager(ctx, ks, []keys.Brand{{ID: brandID, Issuer: "https://keys.invalid/" + brandID, DisplayName: brandID}},
		keys.Options{PublishAhead: keyPublishAhead, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	old := ""
	for _, r := range keys.InUse(before, time.Now().UTC()) {
		if r.Use == use {
			old = r.KID
		}
	}
	rotate := m.Rotate
	if use == keys.UseEnc {
		rotate = m.RotateEncryption
	}
	kid, err := rotate(ctx, brandID)
	if err != nil {
		return err
	}
	records, err := m.Keys(brandID)
	if err != nil {
		return err
	}
	var from time.Time // the new key's NotBefore: it is among the records
	for _, r := range records {
		if r.KID == kid {
			from = r.NotBefore
		}
	}
	fmt.Fprintf(out, "brand %s: new %s key %s\n  published by every server within %s, in use from %s UTC\n", brandID, use, kid, keyReloadInterval, stamp(from))
	if old != "" {
		fmt.Fprintf(out, "  the previous key %s stays published until %s UTC\n", old, stamp(from.Add(keys.DefaultOptions().Retention)))
	}
	return nil
}
