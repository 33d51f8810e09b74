// Package spi is a simulated Pix settlement engine for ofp's demo, tests
// and benchmarks. Engine implements the two ports consent/payments declares:
//
//   - payments.Checker: the holder's own checks before settlement (balance,
//     limits, fraud analysis): accept, hold for analysis (PDNG, released or
//     refused when checked again with Order.Review), or reject
//     (SALDO_INSUFICIENTE, VALOR_ACIMA_LIMITE, PAGAMENTO_RECUSADO_DETENTORA);
//   - payments.Settlement: the SPI. Submit takes an order (or fails:
//     ErrUnavailable), and after SettleDelay an outcome — settled (ACSC) or
//     rejected (PAGAMENTO_RECUSADO_SPI, FALHA_INFRAESTRUTURA_SPI,
//     FALHA_INFRAESTRUTURA_PSP_RECEBEDOR) — is delivered by Run (or Flush)
//     to a Report function: (*payments.Processor).Complete.
//
// Outcomes are chosen per payment by exact amount (Options.ByAmount, for
// deterministic scenarios) or at random with the configured rates from a
// seed. Like the real SPI it never settles an endToEndId twice: a
// resubmission while in flight is ignored, after the decision it resends
// the outcome (LoseOutcome simulates the lost answer that makes the
// Processor resubmit). State lives in memory only: a restart forgets
// orders, and the Processor's resubmission of overdue ACPD payments then
// settles them again in the simulation (never in a real SPI).
//
// Wiring (cmd/ofp, demo):
//
//	eng := spi.New(spi.Options{CheckDelay: 200 * time.Millisecond, SettleDelay: 2 * time.Second})
//	proc, _ := payments.NewProcessor(store, eng, eng, payments.ProcessorOptions{})
//	go eng.Run(ctx, proc.Complete)
//	go proc.Run(ctx)
//
// Production packages must not import this package (sim/ is never imported
// by them); cmd/ofp chooses it for demo mode.
package spi
