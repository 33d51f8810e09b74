package corebank

// The types below are the data objects of the specs (accounts 2.4.2,
// credit-cards-accounts 2.3.1, customers 2.2.1), field for field, with the
// specs' JSON names: a holder API wraps them in {data, links, meta} and
// encodes them as they are. Optional fields are omitted when empty.

// Amount is a monetary value: a decimal string (two decimals, a leading "-"
// only where the spec allows negatives) and an ISO-4217 currency.
type Amount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Account is accounts 2.4.2 AccountData (one entry of GET /accounts).
type Account struct {
	BrandName   string `json:"brandName"`
	CompanyCnpj string `json:"companyCnpj"`
	Type        string `json:"type"`
	CompeCode   string `json:"compeCode"`
	BranchCode  string `json:"branchCode,omitempty"`
	Number      string `json:"number"`
	CheckDigit  string `json:"checkDigit"`
	AccountID   string `json:"accountId"`
}

// AccountIdentification is accounts 2.4.2 AccountIdentificationData.
type AccountIdentification struct {
	CompeCode  string `json:"compeCode"`
	BranchCode string `json:"branchCode,omitempty"`
	Number     string `json:"number"`
	CheckDigit string `json:"checkDigit"`
	Type       string `json:"type"`
	Subtype    string `json:"subtype"`
	Currency   string `json:"currency"`
}

// AccountBalances is accounts 2.4.2 AccountBalancesData.
type AccountBalances struct {
	AvailableAmount             Amount `json:"availableAmount"`
	BlockedAmount               Amount `json:"blockedAmount"`
	AutomaticallyInvestedAmount Amount `json:"automaticallyInvestedAmount"`
	UpdateDateTime              string `json:"updateDateTime"`
}

// AccountOverdraftLimits is accounts 2.4.2 AccountOverdraftLimitsData.
type AccountOverdraftLimits struct {
	OverdraftContractedLimit  *Amount `json:"overdraftContractedLimit,omitempty"`
	OverdraftUsedLimit        *Amount `json:"overdraftUsedLimit,omitempty"`
	UnarrangedOverdraftAmount *Amount `json:"unarrangedOverdraftAmount,omitempty"`
}

// AccountTransaction is accounts 2.4.2 AccountTransactionsData.
type AccountTransaction struct {
	TransactionID                  string `json:"transactionId"`
	CompletedAuthorisedPaymentType string `json:"completedAuthorisedPaymentType"`
	CreditDebitType                string `json:"creditDebitType"`
	TransactionName                string `json:"transactionName"`
	Type                           string `json:"type"`
	TransactionAmount              Amount `json:"transactionAmount"`
	TransactionDateTime            string `json:"transactionDateTime"`
	PartieCnpjCpf                  string `json:"partieCnpjCpf,omitempty"`
	PartiePersonType               string `json:"partiePersonType,omitempty"`
	PartieCompeCode                string `json:"partieCompeCode,omitempty"`
	PartieBranchCode               string `json:"partieBranchCode,omitempty"`
	PartieNumber                   string `json:"partieNumber,omitempty"`
	PartieCheckDigit               string `json:"partieCheckDigit,omitempty"`
}

// CreditCardAccount is credit-cards 2.3.1 CreditCardAccountsData.
type CreditCardAccount struct {
	CreditCardAccountID   string `json:"creditCardAccountId"`
	BrandName             string `json:"brandName"`
	CompanyCnpj           string `json:"companyCnpj"`
	Name                  string `json:"name"`
	ProductType           string `json:"productType"`
	ProductAdditionalInfo string `json:"productAdditionalInfo,omitempty"`
	CreditCardNetwork     string `json:"creditCardNetwork"`
	NetworkAdditionalInfo string `json:"networkAdditionalInfo,omitempty"`
}

// CreditCardAccountIdentification is credit-cards 2.3.1
// CreditCardsAccountsIdentificationData.
type CreditCardAccountIdentification struct {
	Name                  string              `json:"name"`
	ProductType           string              `json:"productType"`
	ProductAdditionalInfo string              `json:"productAdditionalInfo,omitempty"`
	CreditCardNetwork     string              `json:"creditCardNetwork"`
	NetworkAdditionalInfo string              `json:"networkAdditionalInfo,omitempty"`
	PaymentMethod         []CardPaymentMethod `json:"paymentMethod"`
}

// CardPaymentMethod is credit-cards 2.3.1 CreditCardsAccountPaymentMethod.
type CardPaymentMethod struct {
	IdentificationNumber string `json:"identificationNumber"`
	IsMultipleCreditCard bool   `json:"isMultipleCreditCard"`
}

// CreditCardLimit is credit-cards 2.3.1 CreditCardAccountsLimitsData.
type CreditCardLimit struct {
	CreditLineLimitType    string  `json:"creditLineLimitType"`
	ConsolidationType      string  `json:"consolidationType"`
	IdentificationNumber   string  `json:"identificationNumber"`
	LineName               string  `json:"lineName,omitempty"`
	LineNameAdditionalInfo string  `json:"lineNameAdditionalInfo,omitempty"`
	IsLimitFlexible        bool    `json:"isLimitFlexible"`
	LimitAmount            *Amount `json:"limitAmount,omitempty"`
	UsedAmount             Amount  `json:"usedAmount"`
	AvailableAmount        *Amount `json:"availableAmount,omitempty"`
}

// CreditCardBill is credit-cards 2.3.1 CreditCardAccountsBillsData.
type CreditCardBill struct {
	BillID            string              `json:"billId"`
	DueDate           string              `json:"dueDate"`
	BillTotalAmount   Amount              `json:"billTotalAmount"`
	BillMinimumAmount Amount              `json:"billMinimumAmount"`
	IsInstalment      bool                `json:"isInstalment"`
	FinanceCharges    []BillFinanceCharge `json:"financeCharges,omitempty"`
	Payments          []BillPayment       `json:"payments"`
}

// BillFinanceCharge is credit-cards 2.3.1 CreditCardAccountsBillsFinanceCharge.
type BillFinanceCharge struct {
	Type           string `json:"type"`
	AdditionalInfo string `json:"additionalInfo,omitempty"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
}

// BillPayment is credit-cards 2.3.1 CreditCardAccountsBillsPayment.
type BillPayment struct {
	ValueType   string `json:"valueType"`
	PaymentDate string `json:"paymentDate"`
	PaymentMode string `json:"paymentMode"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
}

// CreditCardTransaction is credit-cards 2.3.1 CreditCardAccountsTransaction
// (also the shape of CreditCardAccountsBillsTransactions).
type CreditCardTransaction struct {
	TransactionID               string `json:"transactionId"`
	IdentificationNumber        string `json:"identificationNumber"`
	TransactionName             string `json:"transactionName"`
	BillID                      string `json:"billId,omitempty"`
	CreditDebitType             string `json:"creditDebitType"`
	TransactionType             string `json:"transactionType"`
	TransactionalAdditionalInfo string `json:"transactionalAdditionalInfo,omitempty"`
	PaymentType                 string `json:"paymentType,omitempty"`
	FeeType                     string `json:"feeType,omitempty"`
	FeeTypeAdditionalInfo       string `json:"feeTypeAdditionalInfo,omitempty"`
	OtherCreditsType            string `json:"otherCreditsType,omitempty"`
	OtherCreditsAdditionalInfo  string `json:"otherCreditsAdditionalInfo,omitempty"`
	ChargeIdentificator         int    `json:"chargeIdentificator,omitempty"`
	ChargeNumber                int    `json:"chargeNumber,omitempty"`
	BrazilianAmount             Amount `json:"brazilianAmount"`
	Amount                      Amount `json:"amount"`
	TransactionDateTime         string `json:"transactionDateTime"`
	BillPostDate                string `json:"billPostDate"`
	PayeeMCC                    int    `json:"payeeMCC,omitempty"`
}

// PersonalIdentification is customers 2.2.1 PersonalIdentificationData.
type PersonalIdentification struct {
	UpdateDateTime          string                  `json:"updateDateTime"`
	PersonalID              string                  `json:"personalId"`
	BrandName               string                  `json:"brandName"`
	CivilName               string                  `json:"civilName"`
	SocialName              string                  `json:"socialName,omitempty"`
	BirthDate               string                  `json:"birthDate"`
	MaritalStatusCode       string                  `json:"maritalStatusCode,omitempty"`
	Sex                     string                  `json:"sex,omitempty"`
	CompaniesCnpj           []string                `json:"companiesCnpj"`
	Documents               PersonalDocuments       `json:"documents"`
	OtherDocuments          []PersonalOtherDocument `json:"otherDocuments,omitempty"`
	HasBrazilianNationality bool                    `json:"hasBrazilianNationality"`
	Filiation               []Filiation             `json:"filiation,omitempty"`
	Contacts                PersonalContacts        `json:"contacts"`
}

// PersonalDocuments is customers 2.2.1 PersonalDocument.
type PersonalDocuments struct {
	CPFNumber string `json:"cpfNumber,omitempty"`
}

// PersonalOtherDocument is customers 2.2.1 PersonalOtherDocument.
type PersonalOtherDocument struct {
	Type           string `json:"type"`
	Number         string `json:"number"`
	CheckDigit     string `json:"checkDigit,omitempty"`
	AdditionalInfo string `json:"additionalInfo,omitempty"`
	ExpirationDate string `json:"expirationDate,omitempty"`
}

// Filiation is one entry of PersonalIdentificationData.filiation.
type Filiation struct {
	Type      string `json:"type"`
	CivilName string `json:"civilName"`
}

// PersonalContacts is customers 2.2.1 PersonalContacts.
type PersonalContacts struct {
	PostalAddresses []PostalAddress `json:"postalAddresses"`
	Phones          []Phone         `json:"phones"`
	Emails          []Email         `json:"emails"`
}

// BusinessContacts is customers 2.2.1 BusinessContacts.
type BusinessContacts = PersonalContacts

// PostalAddress fits both PersonalPostalAddress and BusinessPostalAddress
// (every field the stricter of the two requires is always set).
type PostalAddress struct {
	IsMain                bool                   `json:"isMain"`
	Address               string                 `json:"address"`
	AdditionalInfo        string                 `json:"additionalInfo,omitempty"`
	DistrictName          string                 `json:"districtName,omitempty"`
	TownName              string                 `json:"townName"`
	IbgeTownCode          string                 `json:"ibgeTownCode,omitempty"`
	CountrySubDivision    string                 `json:"countrySubDivision,omitempty"`
	PostCode              string                 `json:"postCode"`
	Country               string                 `json:"country"`
	CountryCode           string                 `json:"countryCode"`
	GeographicCoordinates *GeographicCoordinates `json:"geographicCoordinates,omitempty"`
}

// GeographicCoordinates is customers 2.2.1 GeographicCoordinates.
type GeographicCoordinates struct {
	Latitude  string `json:"latitude"`
	Longitude string `json:"longitude"`
}

// Phone is customers 2.2.1 CustomerPhone.
type Phone struct {
	IsMain             bool   `json:"isMain"`
	Type               string `json:"type"`
	CountryCallingCode string `json:"countryCallingCode,omitempty"`
	AreaCode           string `json:"areaCode"`
	Number             string `json:"number"`
}

// Email is customers 2.2.1 CustomerEmail.
type Email struct {
	IsMain bool   `json:"isMain"`
	Email  string `json:"email"`
}

// PersonalQualification is customers 2.2.1 PersonalQualificationData.
type PersonalQualification struct {
	UpdateDateTime        string             `json:"updateDateTime"`
	CompanyCnpj           string             `json:"companyCnpj"`
	OccupationCode        string             `json:"occupationCode,omitempty"`
	OccupationDescription string             `json:"occupationDescription,omitempty"`
	InformedIncome        *InformedIncome    `json:"informedIncome,omitempty"`
	InformedPatrimony     *PersonalPatrimony `json:"informedPatrimony,omitempty"`
}

// InformedIncome is customers 2.2.1 InformedIncome.
type InformedIncome struct {
	Frequency string `json:"frequency"`
	Amount    Amount `json:"amount"`
	Date      string `json:"date"`
}

// PersonalPatrimony is customers 2.2.1 PersonalInformedPatrimony.
type PersonalPatrimony struct {
	Amount Amount `json:"amount"`
	Year   int    `json:"year"`
}

// PersonalFinancialRelation is customers 2.2.1 PersonalFinancialRelationData.
type PersonalFinancialRelation struct {
	UpdateDateTime       string               `json:"updateDateTime"`
	StartDate            string               `json:"startDate"`
	ProductsServicesType []string             `json:"productsServicesType"`
	Procurators          []PersonalProcurator `json:"procurators"`
	Accounts             []PersonalAccount    `json:"accounts"`
}

// PersonalProcurator is customers 2.2.1 PersonalProcurator.
type PersonalProcurator struct {
	Type      string `json:"type"`
	CPFNumber string `json:"cpfNumber"`
	CivilName string `json:"civilName"`
}

// PersonalAccount is customers 2.2.1 PersonalAccount.
type PersonalAccount struct {
	CompeCode  string `json:"compeCode"`
	BranchCode string `json:"branchCode,omitempty"`
	Number     string `json:"number"`
	CheckDigit string `json:"checkDigit"`
	Type       string `json:"type"`
	Subtype    string `json:"subtype"`
}

// BusinessIdentification is customers 2.2.1 BusinessIdentificationData.
type BusinessIdentification struct {
	UpdateDateTime    string           `json:"updateDateTime"`
	BusinessID        string           `json:"businessId"`
	BrandName         string           `json:"brandName"`
	CompanyName       string           `json:"companyName"`
	TradeName         string           `json:"tradeName,omitempty"`
	IncorporationDate string           `json:"incorporationDate"`
	CNPJNumber        string           `json:"cnpjNumber"`
	CompaniesCnpj     []string         `json:"companiesCnpj"`
	Parties           []BusinessParty  `json:"parties"`
	Contacts          BusinessContacts `json:"contacts"`
}

// BusinessParty is customers 2.2.1 PartiesParticipation.
type BusinessParty struct {
	PersonType      string `json:"personType"`
	Type            string `json:"type"`
	CivilName       string `json:"civilName,omitempty"`
	CompanyName     string `json:"companyName,omitempty"`
	StartDate       string `json:"startDate,omitempty"`
	Shareholding    string `json:"shareholding,omitempty"`
	DocumentType    string `json:"documentType"`
	DocumentNumber  string `json:"documentNumber"`
	DocumentCountry string `json:"documentCountry,omitempty"`
}

// BusinessQualification is customers 2.2.1 BusinessQualificationData.
type BusinessQualification struct {
	UpdateDateTime     string             `json:"updateDateTime"`
	EconomicActivities []EconomicActivity `json:"economicActivities,omitempty"`
	InformedRevenue    *InformedRevenue   `json:"informedRevenue,omitempty"`
	InformedPatrimony  *BusinessPatrimony `json:"informedPatrimony,omitempty"`
}

// EconomicActivity is customers 2.2.1 EconomicActivity (CNAE code).
type EconomicActivity struct {
	Code   string `json:"code"`
	IsMain bool   `json:"isMain"`
}

// InformedRevenue is customers 2.2.1 InformedRevenue.
type InformedRevenue struct {
	Frequency string `json:"frequency"`
	Amount    Amount `json:"amount"`
	Year      int    `json:"year"`
}

// BusinessPatrimony is customers 2.2.1 BusinessInformedPatrimony.
type BusinessPatrimony struct {
	Amount Amount `json:"amount"`
	Date   string `json:"date"`
}

// BusinessFinancialRelation is customers 2.2.1 BusinessFinancialRelationData.
type BusinessFinancialRelation struct {
	UpdateDateTime       string               `json:"updateDateTime"`
	StartDate            string               `json:"startDate"`
	ProductsServicesType []string             `json:"productsServicesType"`
	Procurators          []BusinessProcurator `json:"procurators"`
	Accounts             []BusinessAccount    `json:"accounts"`
}

// BusinessProcurator is customers 2.2.1 BusinessProcurator.
type BusinessProcurator struct {
	Type          string `json:"type"`
	CnpjCpfNumber string `json:"cnpjCpfNumber"`
	CivilName     string `json:"civilName"`
}

// BusinessAccount is customers 2.2.1 BusinessAccount.
type BusinessAccount struct {
	CompeCode  string `json:"compeCode"`
	BranchCode string `json:"branchCode,omitempty"`
	Number     string `json:"number"`
	CheckDigit string `json:"checkDigit"`
	Type       string `json:"type"`
}
