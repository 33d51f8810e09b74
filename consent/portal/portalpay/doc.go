// Package portalpay is the customer portal's view of the Pix payments the
// holder keeps: portal.Payments over consent/payments/paymentsql. A
// customer sees the payments still to be made under the consents they
// authorised (soonest first) and may cancel a scheduled one at the holder
// (cancelledFrom DETENTORA, the initiator notified); an operator may do so
// on the customer's behalf, with a reason, from the console.
//
// It is the one place that knows both the portal and the payments store;
// cmd/ofp wires it, and the portal's browser tests run it over a real
// store.
package portalpay
