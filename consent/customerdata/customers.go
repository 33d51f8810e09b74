package customerdata

import (
	"context"
	"net/http"

	"github.com/ofp-dev/ofp/connectors/corebank"
	"github.com/ofp-dev/ofp/consent"
)

// CustomersCore is what the Customers API reads from the core banking port
// (*corebank.Synthetic satisfies it).
type CustomersCore interface {
	PersonalIdentifications(ctx context.Context, owner corebank.Owner) ([]corebank.PersonalIdentification, error)
	PersonalQualifications(ctx context.Context, owner corebank.Owner) (corebank.PersonalQualification, error)
	PersonalFinancialRelations(ctx context.Context, owner corebank.Owner) (corebank.PersonalFinancialRelation, error)
	BusinessIdentifications(ctx context.Context, owner corebank.Owner) ([]corebank.BusinessIdentification, error)
	BusinessQualifications(ctx context.Context, owner corebank.Owner) (corebank.BusinessQualification, error)
	BusinessFinancialRelations(ctx context.Context, owner corebank.Owner) (corebank.BusinessFinancialRelation, error)
}

var _ CustomersCore = (*corebank.Synthetic)(nil)

type customersAPI struct {
	*service
	core CustomersCore
}

// NewCustomers returns the Customers API 2.2.1 (GET
// /personal/{identifications,qualifications,financial-relations} and
// /business/{…}) under CustomersBasePath. Customer data has no resource:
// the consent's permission and its owner (loggedUser, businessEntity)
// decide what is read; a PF consent reads personal data, a PJ consent the
// company's.
func NewCustomers(core CustomersCore, opts Options) (*API, error) {
	if core == nil {
		return nil, errNoCore
	}
	s, err := newService(CustomersBasePath, CustomersVersion, "customers", metaDate, opts)
	if err != nil {
		return nil, err
	}
	a := &customersAPI{service: s, core: core}
	mux := http.NewServeMux()
	routes := s.mount(mux, a.endpoints())
	return &API{mux: mux, routes: routes}, nil
}

func (a *customersAPI) endpoints() []endpoint {
	return []endpoint{
		{path: "/personal/identifications", perm: consent.PermCustomersPersonalIdentificationsRead, meta: metaDate,
			serve: identifications(func(ctx context.Context, o corebank.Owner) ([]corebank.PersonalIdentification, error) {
				return a.core.PersonalIdentifications(ctx, o)
			})},
		{path: "/personal/qualifications", perm: consent.PermCustomersPersonalAdittionalInfoRead, meta: metaDate,
			serve: single(func(ctx context.Context, o corebank.Owner) (corebank.PersonalQualification, error) {
				return a.core.PersonalQualifications(ctx, o)
			})},
		{path: "/personal/financial-relations", perm: consent.PermCustomersPersonalAdittionalInfoRead, meta: metaDate,
			serve: single(func(ctx context.Context, o corebank.Owner) (corebank.PersonalFinancialRelation, error) {
				return a.core.PersonalFinancialRelations(ctx, o)
			})},
		{path: "/business/identifications", perm: consent.PermCustomersBusinessIdentificationsRead, meta: metaDate,
			serve: identifications(func(ctx context.Context, o corebank.Owner) ([]corebank.BusinessIdentification, error) {
				return a.core.BusinessIdentifications(ctx, o)
			})},
		{path: "/business/qualifications", perm: consent.PermCustomersBusinessAdittionalInfoRead, meta: metaDate,
			serve: single(func(ctx context.Context, o corebank.Owner) (corebank.BusinessQualification, error) {
				return a.core.BusinessQualifications(ctx, o)
			})},
		{path: "/business/financial-relations", perm: consent.PermCustomersBusinessAdittionalInfoRead, meta: metaDate,
			serve: single(func(ctx context.Context, o corebank.Owner) (corebank.BusinessFinancialRelation, error) {
				return a.core.BusinessFinancialRelations(ctx, o)
			})},
	}
}

// CustomersRoutes is the Customers API's route table.
func CustomersRoutes() []Route {
	return routesOf(CustomersBasePath, "customers", (&customersAPI{}).endpoints())
}

// identifications serves a paged identification list (Links with totals
// kept out of meta: customers' Meta is requestDateTime alone).
func identifications[T any](read func(context.Context, corebank.Owner) ([]T, error)) func(*request) {
	return func(rq *request) {
		p, ok := rq.parsePage(1)
		if !ok {
			return
		}
		all, err := read(rq.ctx(), rq.owner)
		if err != nil {
			rq.coreError("read identifications", err)
			return
		}
		data, _, pages := slicePage(all, p)
		if rq.beyondLast(p, pages) {
			return
		}
		rq.notePaginationKey()
		rq.ok(dateBody{Data: data, Links: rq.pageLinks(p, pages, p.page < pages, true, true), Meta: dateMeta{RequestDateTime: rq.requestDateTime()}})
	}
}

// single serves one object (qualifications, financial relations).
func single[T any](read func(context.Context, corebank.Owner) (T, error)) func(*request) {
	return func(rq *request) {
		v, err := read(rq.ctx(), rq.owner)
		if err != nil {
			rq.coreError("read customer data", err)
			return
		}
		rq.ok(dateBody{Data: v, Links: rq.selfLinks(), Meta: dateMeta{RequestDateTime: rq.requestDateTime()}})
	}
}
