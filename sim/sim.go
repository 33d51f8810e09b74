package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// SimulatedHeader is set to "true" on every response of the simulator.
// Production code cannot import sim; it should check this header name
// itself (or its configuration) to label collected figures as simulated.
const SimulatedHeader = "X-Ofp-Simulated"

// FaultHeader names the injected fault on a faulty response. It is a
// debugging aid for tests; a collector must not rely on it.
const FaultHeader = "X-Ofp-Sim-Fault"

// IsSimulated reports whether response headers carry the simulator's label.
func IsSimulated(h http.Header) bool { return h.Get(SimulatedHeader) == "true" }

// Organisation is one directory participant of the simulated ecosystem.
// Every figure it serves is simulated (Simulated is always true).
type Organisation struct {
	ID                 string
	Name               string // OrganisationName, as the directory lists it
	LegalName          string // participant.name / company name in payloads
	RegistrationNumber string // as the directory lists it (2021 style: raw dump value)
	CNPJ               string // 14 digits, as payloads carry it
	Status             string // Active | Pending | Withdrawn
	Style              Style  // Style2021 or StyleCurrent
	Complete           bool   // serves all 12 products
	Simulated          bool
	Institutions       []Institution
}

// Institution is one brand (authorisation server) of an organisation; it
// serves its open data under BasePath.
type Institution struct {
	OrganisationID        string
	AuthorisationServerID string
	Brand                 string
	Name                  string
	CNPJ                  string
	// BasePath is "/inst/{OrganisationId}/{AuthorisationServerId}"; the
	// endpoints are BasePath + "/open-banking/<family>/v1/<product>".
	BasePath string
	// Products lists the endpoints it serves (subset of Products).
	Products []string

	orgStatus string
	style     Style
	feeScale  int64
	rateShift int64
}

// Serves reports whether the institution serves product.
func (i *Institution) Serves(product string) bool { return slices.Contains(i.Products, product) }

// Family is the API family the institution serves product under.
func (i *Institution) Family(product string) string {
	if i.style == Style2021 {
		return FamilyProductsServices
	}
	return CurrentFamily(product)
}

// EndpointURL is the absolute URL of product at baseURL.
func (i *Institution) EndpointURL(baseURL, product string) string {
	return baseURL + i.BasePath + "/open-banking/" + i.Family(product) + "/v1/" + product
}

func (i *Institution) markerURL() string {
	return "https://simulado.ofp.invalid/" + i.OrganisationID + "/" + i.AuthorisationServerID
}

// Ecosystem is a simulated Open Finance Brasil: the central directory and
// every institution's open-data server, answering on one http.Handler.
type Ecosystem struct {
	cfg       Config
	specs     *specSet
	orgs      []*Organisation
	orgByID   map[string]*Organisation
	instByAS  map[string]*Institution
	directory []byte

	attemptsMu sync.Mutex
	attempts   map[string]int

	factsOnce sync.Once
	fees      []FeeFact
	rates     []RateFact
}

// New builds the ecosystem. It parses the embedded directory snapshot and
// specs; open data is generated on demand (deterministic in cfg.Seed).
func New(cfg Config) (*Ecosystem, error) {
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	specs, err := loadSpecs()
	if err != nil {
		return nil, err
	}
	dump, err := parseDump()
	if err != nil {
		return nil, err
	}
	e := &Ecosystem{cfg: cfg, specs: specs, orgByID: map[string]*Organisation{},
		instByAS: map[string]*Institution{}, attempts: map[string]int{}}
	var candidates []*Organisation
	for _, d := range dump {
		org := &Organisation{
			ID:                 d.OrganisationID,
			Name:               d.OrganisationName,
			LegalName:          cleanName(firstNonEmpty(d.LegalEntityName, d.RegisteredName, d.OrganisationName), 80),
			RegistrationNumber: d.RegistrationNumber,
			CNPJ:               NormaliseCNPJ(d.RegistrationNumber),
			Status:             "Active",
			Style:              e.styleOf(d.OrganisationID),
			Simulated:          true,
		}
		if org.Style == StyleCurrent {
			org.RegistrationNumber = org.CNPJ
		}
		hasOpenData := false
		for _, as := range d.AuthorisationServers {
			for _, r := range as.ApiResources {
				if r.ApiFamilyType == FamilyProductsServices {
					hasOpenData = true
				}
			}
		}
		if hasOpenData {
			candidates = append(candidates, org)
		}
		e.orgs = append(e.orgs, org)
		e.orgByID[org.ID] = org
	}
	if cfg.CompleteOrgs > len(candidates) {
		return nil, fmt.Errorf("sim: CompleteOrgs %d exceeds the %d organisations that publish open data", cfg.CompleteOrgs, len(candidates))
	}
	products := e.chooseProducts(candidates)
	for _, d := range dump {
		org := e.orgByID[d.OrganisationID]
		for _, das := range d.AuthorisationServers {
			inst := Institution{
				OrganisationID:        org.ID,
				AuthorisationServerID: das.AuthorisationServerID,
				Brand:                 cleanName(das.CustomerFriendlyName, 80),
				Name:                  org.LegalName,
				CNPJ:                  org.CNPJ,
				BasePath:              "/inst/" + org.ID + "/" + das.AuthorisationServerID,
				Products:              products[org.ID],
				orgStatus:             org.Status,
				style:                 org.Style,
				feeScale:              int64(50 + hashOf(cfg.Seed, "feescale", das.AuthorisationServerID)%200),
				rateShift:             int64(hashOf(cfg.Seed, "rateshift", das.AuthorisationServerID) % 300),
			}
			org.Institutions = append(org.Institutions, inst)
		}
		for i := range org.Institutions {
			e.instByAS[org.Institutions[i].AuthorisationServerID] = &org.Institutions[i]
		}
	}
	e.directory, err = e.renderDirectory(dump)
	if err != nil {
		return nil, err
	}
	return e, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

func (e *Ecosystem) styleOf(orgID string) Style {
	if s, ok := e.cfg.OrgStyles[orgID]; ok {
		return s
	}
	if e.cfg.Style == StyleMixed {
		if hashOf(e.cfg.Seed, "style", orgID)%2 == 0 {
			return Style2021
		}
		return StyleCurrent
	}
	return e.cfg.Style
}

// chooseProducts picks the complete organisations, the partial ones and
// the inactive ones, all by hash of the seed.
func (e *Ecosystem) chooseProducts(candidates []*Organisation) map[string][]string {
	sorted := slices.Clone(candidates)
	sort.SliceStable(sorted, func(i, j int) bool {
		return hashOf(e.cfg.Seed, "complete", sorted[i].ID) < hashOf(e.cfg.Seed, "complete", sorted[j].ID)
	})
	out := map[string][]string{}
	var rest []*Organisation
	for i, org := range sorted {
		if i < e.cfg.CompleteOrgs {
			org.Complete = true
			out[org.ID] = slices.Clone(Products)
			continue
		}
		rest = append(rest, org)
		h := hashOf(e.cfg.Seed, "subset", org.ID)
		if h%4 == 0 {
			continue // lists open data but serves none of it
		}
		var ps []string
		for pi, p := range Products {
			if hashOf(e.cfg.Seed, "product", org.ID, pi)%2 == 0 {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			ps = []string{Products[h%uint64(len(Products))]}
		}
		out[org.ID] = ps
	}
	sort.SliceStable(rest, func(i, j int) bool {
		return hashOf(e.cfg.Seed, "inactive", rest[i].ID) < hashOf(e.cfg.Seed, "inactive", rest[j].ID)
	})
	for i := 0; i < e.cfg.InactiveOrgs && i < len(rest); i++ {
		if i%2 == 0 {
			rest[i].Status = "Withdrawn"
		} else {
			rest[i].Status = "Pending"
		}
	}
	return out
}

// Config returns the configuration the ecosystem was built with.
func (e *Ecosystem) Config() Config { return e.cfg }

// Organisations lists every directory participant in directory order.
func (e *Ecosystem) Organisations() []Organisation {
	out := make([]Organisation, 0, len(e.orgs))
	for _, o := range e.orgs {
		c := *o
		c.Institutions = slices.Clone(o.Institutions)
		out = append(out, c)
	}
	return out
}

// Organisation returns one participant by OrganisationId.
func (e *Ecosystem) Organisation(id string) (Organisation, bool) {
	o, ok := e.orgByID[id]
	if !ok {
		return Organisation{}, false
	}
	c := *o
	c.Institutions = slices.Clone(o.Institutions)
	return c, true
}

// Handler serves GET /participants (the directory) and GET /inst/...
// (every institution) for the BaseURL given in Config.
func (e *Ecosystem) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /participants", e.serveDirectory)
	mux.HandleFunc("GET /inst/{org}/{as}/open-banking/{family}/{version}/{product}", e.serveOpenData)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "NAO_ENCONTRADO", "Recurso não encontrado", "the simulator does not serve "+r.URL.Path)
	})
	return mux
}

func (e *Ecosystem) serveDirectory(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set(SimulatedHeader, "true")
	setInteractionID(w, r)
	_, _ = w.Write(e.directory)
}

// Start listens on addr (e.g. "127.0.0.1:0"), builds the ecosystem with
// BaseURL set to the listener's address when cfg.BaseURL is empty, and
// serves it until stop is called. stop's context bounds the shutdown.
func Start(addr string, cfg Config) (e *Ecosystem, stop func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: listen on %s: %w", addr, err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	e, err = New(cfg)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("sim: server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return e, srv.Shutdown, nil
}
