// Mapping functions for SIBAN, a fictional legacy core-banking system whose
// account service answers in its own JSON dialect (see
// testdata/siban_accounts.json). Each function turns one SIBAN response
// into the shape of accounts 2.4.2. They are pure: no state is kept
// between calls, and everything they need arrives as arguments.
//
// Money stays a string from end to end: SIBAN writes "1.234,56"; the spec
// wants "1234.56". Converting through a JS number would round large values,
// so the digits are moved, never parsed.

var ACCOUNT_TYPES = {
  CC: "CONTA_DEPOSITO_A_VISTA",
  PP: "CONTA_POUPANCA",
  PG: "CONTA_PAGAMENTO_PRE_PAGA"
};

var SUBTYPES = { I: "INDIVIDUAL", S: "CONJUNTA_SIMPLES", L: "CONJUNTA_SOLIDARIA" };

function checkHeader(legacy) {
  if (!legacy || !legacy.cabecalho) {
    throw new Error("SIBAN: resposta sem cabecalho");
  }
  if (legacy.cabecalho.codRetorno !== 0) {
    throw new Error("SIBAN: codRetorno " + legacy.cabecalho.codRetorno + " " + (legacy.cabecalho.msgRetorno || ""));
  }
}

function pad(value, width) {
  var s = String(value);
  while (s.length < width) s = "0" + s;
  return s;
}

// "0001234-5" -> { number: "00001234", checkDigit: "5" }
function splitAccount(conta) {
  var m = /^(\d{1,20})-([0-9Xx])$/.exec(String(conta).trim());
  if (!m) throw new Error("SIBAN: conta malformada: " + conta);
  return { number: pad(m[1], 8), checkDigit: m[2].toUpperCase() };
}

// "1.234,56" or "-0,5" -> "1234.56" / "-0.50"
function money(br) {
  var m = /^(-?)([\d.]+),(\d{1,4})$/.exec(String(br).trim());
  if (!m) throw new Error("SIBAN: valor malformado: " + br);
  var units = m[2].replace(/\./g, "").replace(/^0+(?=\d)/, "");
  var cents = m[3].length < 2 ? m[3] + "0" : m[3];
  return (m[1] === "-" && /[1-9]/.test(units + cents) ? "-" : "") + units + "." + cents;
}

// "2026-03-10 09:15:00" (UTC) -> "2026-03-10T09:15:00Z"
function dateTime(s) {
  var m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(String(s));
  if (!m) throw new Error("SIBAN: data malformada: " + s);
  return m[1] + "T" + m[2] + "Z";
}

// GET /accounts: active accounts only, in SIBAN's order.
function mapAccounts(legacy, institution) {
  checkHeader(legacy);
  var out = [];
  (legacy.contas || []).forEach(function (c) {
    if (c.situacao !== "ATIVA") return;
    var type = ACCOUNT_TYPES[c.modalidade];
    if (!type) throw new Error("SIBAN: modalidade desconhecida: " + c.modalidade);
    var acc = splitAccount(c.conta);
    var data = {
      brandName: institution.brandName,
      companyCnpj: institution.companyCnpj,
      type: type,
      compeCode: institution.compeCode,
      number: acc.number,
      checkDigit: acc.checkDigit,
      accountId: "siban-" + c.idConta
    };
    if (type !== "CONTA_PAGAMENTO_PRE_PAGA") {
      data.branchCode = pad(c.agencia, 4);
    }
    out.push(data);
  });
  return out;
}

// GET /accounts/{accountId}
function mapAccount(legacy, institution) {
  checkHeader(legacy);
  var c = legacy.conta;
  var type = ACCOUNT_TYPES[c.modalidade];
  if (!type) throw new Error("SIBAN: modalidade desconhecida: " + c.modalidade);
  var acc = splitAccount(c.conta);
  var data = {
    compeCode: institution.compeCode,
    number: acc.number,
    checkDigit: acc.checkDigit,
    type: type,
    subtype: SUBTYPES[c.titularidade] || "INDIVIDUAL",
    currency: c.moeda === "986" ? "BRL" : c.moeda
  };
  if (type !== "CONTA_PAGAMENTO_PRE_PAGA") data.branchCode = pad(c.agencia, 4);
  return data;
}

// GET /accounts/{accountId}/balances
function mapBalances(legacy) {
  checkHeader(legacy);
  var s = legacy.saldos;
  var available = money(s.saldoDisponivel);
  console.log("SIBAN saldo mapeado para a conta", legacy.idConta);
  return {
    availableAmount: { amount: available, currency: "BRL" },
    blockedAmount: { amount: money(s.saldoBloqueado), currency: "BRL" },
    automaticallyInvestedAmount: { amount: money(s.saldoComAplicacaoAutomatica), currency: "BRL" },
    updateDateTime: dateTime(s.dtAtualizacao)
  };
}
