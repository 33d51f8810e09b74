package corebank

// Tables the synthetic core draws names, places and codes from. Names are
// common Brazilian ones; places are real municipalities with their IBGE
// codes, postcode prefixes and coordinates; codes are real CBO occupations,
// CNAE activities, bank COMPE codes and card MCCs.

var femaleNames = []string{
	"Ana", "Maria", "Juliana", "Fernanda", "Patrícia", "Aline", "Camila", "Amanda", "Bruna", "Jéssica",
	"Letícia", "Mariana", "Gabriela", "Beatriz", "Larissa", "Vanessa", "Luciana", "Tatiana", "Renata", "Carolina",
	"Débora", "Raquel", "Sandra", "Adriana", "Cláudia", "Simone", "Daniela", "Natália", "Isabela", "Helena",
}

var maleNames = []string{
	"João", "José", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz", "Marcos", "Gabriel", "Rafael",
	"Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Rodrigo", "Gustavo", "André", "Fernando", "Fábio",
	"Leonardo", "Ricardo", "Thiago", "Diego", "Mateus", "Vinícius", "Antônio", "Francisco", "Sérgio", "Roberto",
}

var surnames = []string{
	"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
	"Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
	"Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
	"Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Pinto", "Correia", "Cavalcanti", "Monteiro",
}

var companyWords = []string{
	"Horizonte", "Aurora", "Cerrado", "Atlântico", "Ipê", "Jacarandá", "Serra Azul", "Pantanal", "Litoral", "Planalto",
	"Boa Vista", "Sol Nascente", "Vale Verde", "Três Rios", "Pedra Branca", "Mar Aberto", "Alvorada", "Cruzeiro", "Estrela", "Pioneira",
}

var companyTrades = []struct {
	Trade, Suffix string
	CNAE          string
}{
	{"Comércio de Alimentos", "Mercado", "4711302"},
	{"Padaria e Confeitaria", "Padaria", "1091102"},
	{"Transportes", "Transportes", "4930202"},
	{"Tecnologia da Informação", "Tecnologia", "6201501"},
	{"Construções", "Construtora", "4120400"},
	{"Restaurante", "Restaurante", "5611201"},
	{"Serviços Médicos", "Clínica", "8630503"},
	{"Comércio de Roupas", "Modas", "4781400"},
	{"Consultoria Empresarial", "Consultoria", "7020400"},
	{"Oficina Mecânica", "Auto Center", "4520001"},
	{"Farmácia", "Drogaria", "4771701"},
	{"Educação", "Escola", "8513900"},
}

var legalForms = []string{"LTDA", "ME", "EIRELI", "S.A."}

type place struct {
	Town, UF, IBGE, CEPPrefix, AreaCode string
	Lat, Lon                            string
	Districts                           []string
}

var places = []place{
	{"São Paulo", "SP", "3550308", "01", "11", "-23.5505199", "-46.6333094", []string{"Bela Vista", "Pinheiros", "Moema", "Tatuapé", "Santana"}},
	{"Rio de Janeiro", "RJ", "3304557", "20", "21", "-22.9068467", "-43.1728965", []string{"Centro", "Copacabana", "Tijuca", "Botafogo", "Méier"}},
	{"Belo Horizonte", "MG", "3106200", "30", "31", "-19.9166813", "-43.9344931", []string{"Savassi", "Funcionários", "Pampulha", "Lourdes"}},
	{"Porto Alegre", "RS", "4314902", "90", "51", "-30.0346471", "-51.2176584", []string{"Cavalhada", "Moinhos de Vento", "Menino Deus", "Bom Fim"}},
	{"Curitiba", "PR", "4106902", "80", "41", "-25.4284", "-49.2733", []string{"Batel", "Água Verde", "Centro Cívico", "Portão"}},
	{"Salvador", "BA", "2927408", "40", "71", "-12.9777", "-38.5016", []string{"Barra", "Pituba", "Rio Vermelho", "Itapuã"}},
	{"Recife", "PE", "2611606", "50", "81", "-8.0476", "-34.877", []string{"Boa Viagem", "Casa Forte", "Espinheiro", "Graças"}},
	{"Fortaleza", "CE", "2304400", "60", "85", "-3.7319", "-38.5267", []string{"Aldeota", "Meireles", "Benfica", "Messejana"}},
	{"Brasília", "DF", "5300108", "70", "61", "-15.7939", "-47.8828", []string{"Asa Sul", "Asa Norte", "Lago Sul", "Sudoeste"}},
	{"Goiânia", "GO", "5208707", "74", "62", "-16.6869", "-49.2648", []string{"Setor Bueno", "Setor Oeste", "Jardim Goiás"}},
	{"Manaus", "AM", "1302603", "69", "92", "-3.119", "-60.0217", []string{"Adrianópolis", "Centro", "Ponta Negra"}},
	{"Belém", "PA", "1501402", "66", "91", "-1.4558", "-48.4902", []string{"Nazaré", "Umarizal", "Batista Campos"}},
	{"Florianópolis", "SC", "4205407", "88", "48", "-27.5954", "-48.548", []string{"Centro", "Trindade", "Lagoa da Conceição"}},
	{"Campinas", "SP", "3509502", "13", "19", "-22.9099", "-47.0626", []string{"Cambuí", "Taquaral", "Barão Geraldo"}},
	{"Vitória", "ES", "3205309", "29", "27", "-20.3155", "-40.3128", []string{"Praia do Canto", "Jardim da Penha", "Centro"}},
	{"Natal", "RN", "2408102", "59", "84", "-5.7945", "-35.211", []string{"Ponta Negra", "Tirol", "Petrópolis"}},
}

var streetKinds = []string{"Rua", "Avenida", "Travessa", "Alameda"}

var streetNames = []string{
	"das Flores", "XV de Novembro", "Sete de Setembro", "Tiradentes", "Dom Pedro II", "Santos Dumont",
	"Getúlio Vargas", "Presidente Vargas", "da Liberdade", "das Palmeiras", "Marechal Deodoro", "Rio Branco",
	"São João", "Castro Alves", "Machado de Assis", "dos Andradas", "Duque de Caxias", "Barão do Rio Branco",
}

// occupations are CBO 2002 codes.
var occupations = []struct{ Code, Description string }{
	{"252210", "Contador"},
	{"212405", "Analista de desenvolvimento de sistemas"},
	{"223505", "Enfermeiro"},
	{"231210", "Professor de nível fundamental"},
	{"411005", "Auxiliar de escritório"},
	{"521110", "Vendedor de comércio varejista"},
	{"782510", "Motorista de caminhão"},
	{"225125", "Médico clínico"},
	{"214205", "Engenheiro civil"},
	{"241005", "Advogado"},
	{"513205", "Cozinheiro geral"},
	{"142105", "Gerente administrativo"},
}

// compeCodes are real COMPE/STR codes of other institutions (counterparties).
var compeCodes = []string{"001", "033", "104", "237", "341", "260", "077", "336", "212", "756", "748", "422"}

var merchants = []struct {
	Name string
	MCC  int
}{
	{"SUPERMERCADO BOM PRECO", 5411},
	{"POSTO PETROLUZ", 5541},
	{"FARMACIA POPULAR", 5912},
	{"RESTAURANTE SABOR CASEIRO", 5812},
	{"PADARIA PAO QUENTE", 5462},
	{"LOJAS MODA CENTER", 5651},
	{"MAGAZINE ELETRO", 5732},
	{"UBER TRIP", 4121},
	{"IFOOD PEDIDO", 5814},
	{"CINEMA CINEMAIS", 7832},
	{"LIVRARIA CULTURA VIVA", 5942},
	{"HOTEL BEIRA MAR", 7011},
	{"CIA AEREA VOEBEM", 4511},
	{"STREAMING FLIX", 4899},
	{"ACADEMIA CORPO SAO", 7997},
	{"PET SHOP AMIGO FIEL", 5995},
}

var internationalMerchants = []struct {
	Name     string
	MCC      int
	Currency string
	// Rate is BRL cents per 100 units of Currency (an exchange rate ×100).
	Rate int64
}{
	{"AMAZON.COM", 5942, "USD", 540},
	{"STEAM GAMES", 5816, "USD", 540},
	{"MUSEE DU LOUVRE PARIS", 7991, "EUR", 590},
	{"APPLE.COM/BILL", 5735, "USD", 540},
}

var utilities = []string{"ENERGIA ELETRICA", "AGUA E ESGOTO", "GAS ENCANADO", "TELEFONE", "INTERNET", "IPTU", "IPVA"}

var employers = []string{
	"Indústrias Reunidas Aurora", "Comércio Horizonte", "Hospital Santa Clara", "Prefeitura Municipal",
	"Tecnologia Cerrado", "Transportes Pioneira", "Escola Estrela", "Construtora Vale Verde",
}

// ASCII versions of the tables, for transaction names.
var (
	maleNamesASCII    = foldAll(maleNames)
	femaleNamesASCII  = foldAll(femaleNames)
	surnamesASCII     = foldAll(surnames)
	companyWordsASCII = foldAll(companyWords)
	employersASCII    = foldAll(employers)
)

func foldAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = asciiFold(x)
	}
	return out
}

// asciiFold maps the Portuguese accented letters used in the tables to
// ASCII (for e-mail addresses and transaction names).
func asciiFold(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case 'á', 'à', 'â', 'ã':
			r = 'a'
		case 'Á', 'À', 'Â', 'Ã':
			r = 'A'
		case 'é', 'ê':
			r = 'e'
		case 'É', 'Ê':
			r = 'E'
		case 'í':
			r = 'i'
		case 'Í':
			r = 'I'
		case 'ó', 'ô', 'õ':
			r = 'o'
		case 'Ó', 'Ô', 'Õ':
			r = 'O'
		case 'ú', 'ü':
			r = 'u'
		case 'Ú':
			r = 'U'
		case 'ç':
			r = 'c'
		case 'Ç':
			r = 'C'
		}
		out = append(out, r)
	}
	return string(out)
}
