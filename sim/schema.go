package sim

import (
	"embed"
	"fmt"
	"slices"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed seed/specs/*.yml
var specFS embed.FS

// strKind says how a string leaf is generated; it is derived from the
// schema's pattern/format so that generated values always match it.
type strKind int

const (
	strText strKind = iota
	strMoney
	strRate6
	strRate4
	strRate2
	strCNPJ
	strCurrency
	strDateTime
	strQty
	strURL
)

type nodeKind int

const (
	kObject nodeKind = iota
	kArray
	kString
	kInteger
	kNumber
	kBool
)

// node is a compiled response schema: what the generator walks.
type node struct {
	kind     nodeKind
	props    []prop // sorted by name
	items    *node
	minItems int
	maxItems int // 0 = unbounded
	enum     []string
	str      strKind
	maxLen   int
	// phantom lists names the schema requires but never declares (errata
	// in products-services 1.0.2, e.g. PersonalAccount requires
	// "incomeRates" but declares "incomeRate").
	phantom []string
}

type prop struct {
	name     string
	required bool
	n        *node
}

func (n *node) prop(name string) *node {
	for _, p := range n.props {
		if p.name == name {
			return p.n
		}
	}
	return nil
}

func classifyPattern(pattern, format string) strKind {
	switch pattern {
	case `^(\d{1,9}\.\d{2}){1}$`, `^((\d{1,9}\.\d{2}){1}|NA)$`:
		return strMoney
	case `^\d{1}\.\d{6}$`:
		return strRate6
	case `(^[0-9](\.[0-9]{4})$|^NA$)`, `(^[0-9](\.[0-9]{4})|NA)$`:
		return strRate4
	case `(^[0-9](\.[0-9]{2})|NA)$`, `(^[0-9](\.[0-9]{2})$|^NA$)`, `(^[0-1](\.[0-9]{2})$|^NA$)`:
		return strRate2
	case `^\d{14}$`, `^(\d{14})$|^NA$`:
		return strCNPJ
	case `^(\w{3}){1}$`:
		return strCurrency
	case `^[2-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`:
		return strDateTime
	case `^(\d{1,6}){1}$`:
		return strQty
	}
	switch format {
	case "date-time":
		return strDateTime
	case "url", "uri":
		return strURL
	}
	return strText
}

func compileSchema(s *openapi3.Schema, depth int) (*node, error) {
	if depth > 40 {
		return nil, fmt.Errorf("schema nesting deeper than 40 levels")
	}
	// Merge allOf parts (recursively) with the schema's own properties.
	props := map[string]*openapi3.SchemaRef{}
	required := map[string]bool{}
	typ := ""
	var merge func(s *openapi3.Schema)
	merge = func(s *openapi3.Schema) {
		for _, part := range s.AllOf {
			if part.Value != nil {
				merge(part.Value)
			}
		}
		for k, v := range s.Properties {
			props[k] = v
		}
		for _, r := range s.Required {
			required[r] = true
		}
		if s.Type != nil && len(*s.Type) > 0 {
			typ = (*s.Type)[0]
		}
	}
	merge(s)
	if typ == "" && len(props) > 0 {
		typ = "object"
	}
	n := &node{}
	switch typ {
	case "object":
		n.kind = kObject
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if props[k].Value == nil {
				return nil, fmt.Errorf("property %s: unresolved reference %s", k, props[k].Ref)
			}
			c, err := compileSchema(props[k].Value, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			n.props = append(n.props, prop{name: k, required: required[k], n: c})
		}
		for r := range required {
			if _, ok := props[r]; !ok {
				n.phantom = append(n.phantom, r)
			}
		}
		sort.Strings(n.phantom)
	case "array":
		n.kind = kArray
		if s.Items == nil || s.Items.Value == nil {
			return nil, fmt.Errorf("array without items")
		}
		c, err := compileSchema(s.Items.Value, depth+1)
		if err != nil {
			return nil, fmt.Errorf("[]: %w", err)
		}
		n.items = c
		n.minItems = int(s.MinItems)
		if s.MaxItems != nil {
			n.maxItems = int(*s.MaxItems)
		}
	case "string":
		n.kind = kString
		for _, e := range s.Enum {
			if str, ok := e.(string); ok {
				n.enum = append(n.enum, str)
			}
		}
		n.str = classifyPattern(s.Pattern, s.Format)
		if s.MaxLength != nil {
			n.maxLen = int(*s.MaxLength)
		}
	case "integer":
		n.kind = kInteger
	case "number":
		n.kind = kNumber
	case "boolean":
		n.kind = kBool
	default:
		return nil, fmt.Errorf("unsupported schema type %q", typ)
	}
	return n, nil
}

// endpointSpec is one of the 12 product endpoints in one API family.
type endpointSpec struct {
	family  string // "products-services" or "opendata-accounts", ...
	product string // "personal-accounts", ...
	segment string // "personal" | "business"
	// record is the schema of one paginated record: a data[] item for
	// opendata-*, a data.brand.companies[] item for products-services v1.
	record *node
	// brandMaxLen is data.brand.name's maxLength in products-services v1
	// (30 for business-invoice-financings, 80 elsewhere).
	brandMaxLen int
	// productsKey is, for products-services v1, the company property that
	// holds the product list ("personalAccounts", ...).
	productsKey string
}

// Products lists the 12 open-data product endpoints, in a fixed order.
var Products = []string{
	"personal-accounts", "business-accounts",
	"personal-credit-cards", "business-credit-cards",
	"personal-loans", "business-loans",
	"personal-financings", "business-financings",
	"personal-invoice-financings", "business-invoice-financings",
	"personal-unarranged-account-overdraft", "business-unarranged-account-overdraft",
}

// CurrentFamily maps a product endpoint to its current (opendata-*) family.
func CurrentFamily(product string) string {
	switch {
	case hasSuffix(product, "-accounts"):
		return "opendata-accounts"
	case hasSuffix(product, "-credit-cards"):
		return "opendata-creditcards"
	case hasSuffix(product, "-invoice-financings"):
		return "opendata-invoicefinancings"
	case hasSuffix(product, "-financings"):
		return "opendata-financings"
	case hasSuffix(product, "-loans"):
		return "opendata-loans"
	default:
		return "opendata-unarranged"
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// Families2021 and the current families, as the directory names them.
const FamilyProductsServices = "products-services"

// CurrentFamilies lists the opendata-* families in a fixed order.
var CurrentFamilies = []string{
	"opendata-accounts", "opendata-creditcards", "opendata-loans",
	"opendata-financings", "opendata-invoicefinancings", "opendata-unarranged",
}

type specSet struct {
	// key: family + "/" + product
	endpoints map[string]*endpointSpec
}

func loadSpecs() (*specSet, error) {
	files := map[string]string{
		"products-services":          "seed/specs/products-services-1.0.2.yml",
		"opendata-accounts":          "seed/specs/opendata-accounts-1.0.1.yml",
		"opendata-creditcards":       "seed/specs/opendata-creditcards-1.0.1.yml",
		"opendata-loans":             "seed/specs/opendata-loans-1.0.1.yml",
		"opendata-financings":        "seed/specs/opendata-financings-1.0.1.yml",
		"opendata-invoicefinancings": "seed/specs/opendata-invoicefinancings-1.0.1.yml",
		"opendata-unarranged":        "seed/specs/opendata-unarranged-1.0.1.yml",
	}
	set := &specSet{endpoints: map[string]*endpointSpec{}}
	for family, file := range files {
		b, err := specFS.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("sim: read embedded spec %s: %w", file, err)
		}
		doc, err := openapi3.NewLoader().LoadFromData(b)
		if err != nil {
			return nil, fmt.Errorf("sim: parse embedded spec %s: %w", file, err)
		}
		for _, product := range Products {
			if family != FamilyProductsServices && CurrentFamily(product) != family {
				continue
			}
			resp, err := responseSchema(doc, "/"+product)
			if err != nil {
				return nil, fmt.Errorf("sim: %s: %w", file, err)
			}
			root, err := compileSchema(resp, 0)
			if err != nil {
				return nil, fmt.Errorf("sim: compile %s %s: %w", file, product, err)
			}
			ep := &endpointSpec{family: family, product: product, segment: segmentOf(product)}
			data := root.prop("data")
			if data == nil {
				return nil, fmt.Errorf("sim: %s %s: response has no data", file, product)
			}
			if family == FamilyProductsServices {
				brand := data.prop("brand")
				if brand == nil || brand.prop("companies") == nil {
					return nil, fmt.Errorf("sim: %s %s: no data.brand.companies", file, product)
				}
				ep.record = brand.prop("companies").items
				if bn := brand.prop("name"); bn != nil {
					ep.brandMaxLen = bn.maxLen
				}
				for _, p := range ep.record.props {
					if p.n.kind == kArray && !slices.Contains([]string{"name", "cnpjNumber", "urlComplementaryList"}, p.name) {
						ep.productsKey = p.name
					}
				}
				if ep.productsKey == "" {
					return nil, fmt.Errorf("sim: %s %s: company has no product list", file, product)
				}
			} else {
				if data.kind != kArray {
					return nil, fmt.Errorf("sim: %s %s: data is not an array", file, product)
				}
				ep.record = data.items
			}
			set.endpoints[family+"/"+product] = ep
		}
	}
	return set, nil
}

func segmentOf(product string) string {
	if len(product) >= 9 && product[:9] == "business-" {
		return "business"
	}
	return "personal"
}

func responseSchema(doc *openapi3.T, path string) (*openapi3.Schema, error) {
	item := doc.Paths.Value(path)
	if item == nil || item.Get == nil {
		return nil, fmt.Errorf("no GET %s", path)
	}
	r := item.Get.Responses.Status(200)
	if r == nil || r.Value == nil {
		return nil, fmt.Errorf("GET %s has no 200 response", path)
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("GET %s 200 has no application/json schema", path)
	}
	return mt.Schema.Value, nil
}
