// Package config holds ofp's settings: one struct, filled from command-line
// flags, with every flag also readable from an OFP_* environment variable
// (flag --kafka-brokers ↔ OFP_KAFKA_BROKERS). An empty engine setting means
// "use the embedded default" (kfake, the embedded S3 server, the simulator).
//
// String() renders the settings with every secret redacted; it is what the
// logs and `ofp config` print.
package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Config is every setting of ofp.
type Config struct {
	DataDir      string
	Listen       string // internal listener: analytics API, admin API, metrics
	KafkaBrokers string // comma-separated; empty = embedded cluster in DataDir
	S3Endpoint   string // empty = embedded S3 server over DataDir/lake
	S3Bucket     string
	S3AccessKey  string
	S3SecretKey  string `secret:"true"`
	S3Region     string
	DirectoryURL string // empty in demo = the simulator's directory
	DatabaseURL  string `secret:"true"` // PostgreSQL; when set, jobs run once across replicas
	Schedule     string // cron schedule of the open-data collection
	LogLevel     string
	LogFormat    string // text or json

	// The regulated interface (data holder): authorization server, consent
	// and customer-data APIs on a TLS listener.
	HolderListen        string // TLS listener of the regulated APIs
	HolderURL           string // public base URL; brand issuers are <HolderURL>/<brand id>
	Brands              string // comma-separated id=Display Name, at most 5
	OrgID               string // this institution's organisation id in the directory
	TLSCert             string // server certificate (PEM); empty in demo = generated test PKI
	TLSKey              string `secret:"true"` // path of the server key; redacted as a matter of habit
	ClientCA            string // CA bundle (PEM) trusted for client certificates
	JWKSTrust           string // extra CAs (PEM) trusted when fetching clients' jwks_uri
	TransportCert       string // this institution's transport (BRCAC) client certificate, for outbound mTLS (webhooks)
	TransportKey        string `secret:"true"` // path of its key; redacted as a matter of habit
	DirectoryJWKS       string // URL or file of the directory's SSA signing keys
	DirectoryIssuer     string // iss of software statements
	UsersFile           string // operators and their roles (internal/rbac JSON)
	SessionKey          string `secret:"true"` // portal session key (≥ 32 bytes); empty in demo = generated
	PreviousSessionKeys string `secret:"true"` // comma-separated session keys being rotated out: what they sealed still opens
	AccessTokenLifetime string // Go duration, 300s–900s

	// The institution's own systems behind the holder (core banking and
	// customer identity), over the back-end contract (internal/backendrpc).
	BackendURL   string // empty = the synthetic core (and, in demo, its demo logins)
	BackendCA    string // CA bundle (PEM) of the back end's server certificate; empty = system roots
	BackendCert  string // client certificate (PEM) presented to the back end; empty = none
	BackendKey   string `secret:"true"` // path of its key; redacted as a matter of habit
	BackendToken string `secret:"true"` // bearer token sent to the back end
	ISPB         string // this institution's ISPB (Pix participant code); empty in demo = a demo ISPB

	// ClientRateLimit is each receiver's limit on the customer-data APIs,
	// shared by the replicas on PostgreSQL, else per process:
	// "<calls per second>[:<burst>]"; empty = 100:200.
	ClientRateLimit string

	// Collector politeness.
	Institutions            int
	EndpointsPerInstitution int
	RequestTimeout          time.Duration
}

// DirectoryURL is the Open Finance Brasil central directory's public
// participants list.
const DirectoryURL = "https://data.directory.openbankingbrasil.org.br/participants"

// Default returns the settings of a fresh `ofp demo`.
func Default() Config {
	return Config{
		DataDir:                 "./var",
		Listen:                  "127.0.0.1:8080",
		S3Bucket:                "ofp-lake",
		S3Region:                "us-east-1",
		DirectoryURL:            DirectoryURL,
		Schedule:                "@hourly",
		LogLevel:                "info",
		LogFormat:               "text",
		Institutions:            8,
		EndpointsPerInstitution: 2,
		RequestTimeout:          30 * time.Second,
		HolderListen:            "127.0.0.1:8443",
		Brands:                  "ofp=OFP Bank",
		DirectoryIssuer:         "Open Banking Open Banking Brasil production SSA issuer",
		AccessTokenLifetime:     "300s",
	}
}

// Flag names; the environment variable is OFP_ + upper snake case.
const (
	FlagDataDir      = "data-dir"
	FlagListen       = "listen"
	FlagKafka        = "kafka-brokers"
	FlagS3Endpoint   = "s3-endpoint"
	FlagS3Bucket     = "s3-bucket"
	FlagS3AccessKey  = "s3-access-key"
	FlagS3SecretKey  = "s3-secret-key"
	FlagS3Region     = "s3-region"
	FlagDirectoryURL = "directory-url"
	FlagDatabaseURL  = "database-url"
	FlagSchedule     = "schedule"
	FlagLogLevel     = "log-level"
	FlagLogFormat    = "log-format"

	FlagHolderListen        = "holder-listen"
	FlagHolderURL           = "holder-url"
	FlagBrands              = "brands"
	FlagOrgID               = "org-id"
	FlagTLSCert             = "tls-cert"
	FlagTLSKey              = "tls-key"
	FlagClientCA            = "client-ca"
	FlagJWKSTrust           = "jwks-trust"
	FlagTransportCert       = "transport-cert"
	FlagTransportKey        = "transport-key"
	FlagDirectoryJWKS       = "directory-jwks"
	FlagDirectoryIssuer     = "directory-issuer"
	FlagUsersFile           = "users-file"
	FlagSessionKey          = "session-key"
	FlagPreviousSessionKeys = "previous-session-keys"
	FlagAccessTokenLifetime = "access-token-lifetime"
	FlagBackendURL          = "backend-url"
	FlagBackendCA           = "backend-ca"
	FlagBackendCert         = "backend-cert"
	FlagBackendKey          = "backend-key"
	FlagBackendToken        = "backend-token"
	FlagISPB                = "ispb"
	FlagClientRateLimit     = "client-rate-limit"
)

// HolderFlags are the settings of the regulated interface.
var HolderFlags = []string{FlagHolderListen, FlagHolderURL, FlagBrands, FlagOrgID, FlagTLSCert, FlagTLSKey,
	FlagClientCA, FlagJWKSTrust, FlagTransportCert, FlagTransportKey, FlagDirectoryJWKS, FlagDirectoryIssuer, FlagUsersFile, FlagSessionKey, FlagPreviousSessionKeys, FlagAccessTokenLifetime,
	FlagBackendURL, FlagBackendCA, FlagBackendCert, FlagBackendKey, FlagBackendToken, FlagISPB, FlagClientRateLimit}

// EnvName is the environment variable that sets a flag.
func EnvName(flagName string) string {
	return "OFP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Register adds the named settings' flags to fs, with defaults taken from
// the environment when set. Commands register only what they use.
func (c *Config) Register(fs *flag.FlagSet, names ...string) {
	str := func(p *string, name, usage string) {
		if v, ok := os.LookupEnv(EnvName(name)); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" (env "+EnvName(name)+")")
	}
	for _, n := range names {
		switch n {
		case FlagDataDir:
			str(&c.DataDir, n, "folder for embedded Kafka, lake, warehouse and the SQLite stores (without --database-url)")
		case FlagListen:
			str(&c.Listen, n, "address of the internal listener (analytics, admin, metrics)")
		case FlagKafka:
			str(&c.KafkaBrokers, n, "comma-separated Kafka seed brokers; empty runs the embedded cluster")
		case FlagS3Endpoint:
			str(&c.S3Endpoint, n, "S3 endpoint URL (http://host:9000, https://s3.amazonaws.com); empty runs the embedded S3 server")
		case FlagS3Bucket:
			str(&c.S3Bucket, n, "S3 bucket of the lake")
		case FlagS3AccessKey:
			str(&c.S3AccessKey, n, "S3 access key")
		case FlagS3SecretKey:
			str(&c.S3SecretKey, n, "S3 secret key (prefer the environment variable)")
		case FlagS3Region:
			str(&c.S3Region, n, "S3 region")
		case FlagDirectoryURL:
			str(&c.DirectoryURL, n, "URL of the central directory's participants list")
		case FlagDatabaseURL:
			str(&c.DatabaseURL, n, "PostgreSQL URL (postgres://user@host/db); with it, scheduled jobs run on one replica at a time")
		case FlagSchedule:
			str(&c.Schedule, n, "cron schedule of the open-data collection (\"0 * * * *\", @hourly, @every 30m)")
		case FlagLogLevel:
			str(&c.LogLevel, n, "debug, info, warn or error")
		case FlagLogFormat:
			str(&c.LogFormat, n, "text or json")
		case FlagHolderListen:
			str(&c.HolderListen, n, "TLS address of the regulated APIs (authorization server, consents, customer data)")
		case FlagHolderURL:
			str(&c.HolderURL, n, "public base URL of the regulated APIs (https://api.bank.com.br); empty = https://<holder-listen>")
		case FlagBrands:
			str(&c.Brands, n, "brands, comma-separated id=Display Name (at most 5); each brand's issuer is <holder-url>/<id>")
		case FlagOrgID:
			str(&c.OrgID, n, "this institution's organisation id in the central directory (UUID); empty in demo = a fixed demo id")
		case FlagTLSCert:
			str(&c.TLSCert, n, "server certificate chain (PEM file); empty in demo = generated test PKI in <data-dir>/pki")
		case FlagTLSKey:
			str(&c.TLSKey, n, "server private key (PEM file)")
		case FlagClientCA:
			str(&c.ClientCA, n, "CA bundle (PEM file) trusted for client certificates (ICP-Brasil chain in production)")
		case FlagJWKSTrust:
			str(&c.JWKSTrust, n, "CA bundle (PEM) trusted, besides the system roots, when fetching clients' jwks_uri (the directory keystore's chain)")
		case FlagTransportCert:
			str(&c.TransportCert, n, "this institution's transport (BRCAC) client certificate chain (PEM file), presented on outbound mTLS: webhooks to clients; empty in demo = generated test PKI")
		case FlagTransportKey:
			str(&c.TransportKey, n, "the transport certificate's private key (PEM file)")
		case FlagDirectoryJWKS:
			str(&c.DirectoryJWKS, n, "directory SSA signing keys: https URL or JWKS file; empty in demo = the generated test directory key")
		case FlagDirectoryIssuer:
			str(&c.DirectoryIssuer, n, "iss claim of the directory's software statements")
		case FlagUsersFile:
			str(&c.UsersFile, n, "operators and roles (JSON, bcrypt hashes); empty in demo = generated admin user in <data-dir>")
		case FlagSessionKey:
			str(&c.SessionKey, n, "session key, ≥ 32 bytes, the same on every replica: signs portal sessions and seals the authorization server's keys in the database (to change it, see 'ofp keys reseal --help'; prefer the environment variable)")
		case FlagPreviousSessionKeys:
			str(&c.PreviousSessionKeys, n, "to rotate the session key: the previous session keys, comma-separated; what they sealed still opens until 'ofp keys reseal' has moved it under --session-key (portal sessions are not carried over: users sign in again)")
		case FlagAccessTokenLifetime:
			str(&c.AccessTokenLifetime, n, "access-token lifetime, 300s to 900s (5m, 900s)")
		case FlagBackendURL:
			str(&c.BackendURL, n, "base URL of the institution's back end (core banking, customer logins, payment checks and its Pix (SPI) connection: the contract 'ofp sim backend' serves): https://core.bank.internal/ofp; empty = the synthetic core, and customers log in only in demo")
		case FlagBackendCA:
			str(&c.BackendCA, n, "CA bundle (PEM file) trusted for the back end's certificate; empty = the system roots")
		case FlagBackendCert:
			str(&c.BackendCert, n, "client certificate chain (PEM file) presented to the back end (mTLS); empty = none")
		case FlagBackendKey:
			str(&c.BackendKey, n, "the back-end client certificate's private key (PEM file)")
		case FlagBackendToken:
			str(&c.BackendToken, n, "bearer token sent to the back end (prefer the environment variable)")
		case FlagClientRateLimit:
			str(&c.ClientRateLimit, n, "each receiver's call limit on the customer-data APIs: <calls per second>[:<burst>], at least 500 a minute (8.34); above it, 429 with Retry-After; shared by the replicas with --database-url, else per process; empty = 100:200")
		case FlagISPB:
			str(&c.ISPB, n, "this institution's ISPB, the 8-digit Pix participant code of its customers' accounts in payments (required with --backend-url); empty in demo = 99999004")
		default:
			panic("config: unknown flag " + n) // programming error in a command's wiring
		}
	}
}

// Brokers splits KafkaBrokers.
func (c Config) Brokers() []string {
	var out []string
	for _, b := range strings.Split(c.KafkaBrokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Path joins a name under the data dir.
func (c Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}

// String lists every setting, one per line, secrets redacted.
func (c Config) String() string {
	v := reflect.ValueOf(c)
	t := v.Type()
	lines := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "[redacted]"
		}
		lines = append(lines, fmt.Sprintf("%s=%s", f.Name, val))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
