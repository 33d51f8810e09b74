// Package legacyjs runs an institution's legacy-integration scripts:
// small JavaScript mapping functions, written by its operators, that turn a
// legacy system's JSON response into the shape of an Open Finance spec.
// They run in-process on github.com/dop251/goja, sandboxed.
//
// It owns:
//   - Engine: one compiled script, a pool of VMs (Options.PoolSize, which
//     also bounds concurrent calls), and Call(ctx, function, args...) with
//     JSON in (each argument parsed by the intrinsic JSON.parse) and JSON out
//     (the intrinsic JSON.stringify);
//   - the failure model: every failure is an *Error whose Kind is one of
//     ErrScript (throw, stack overflow, missing function), ErrTimeout,
//     ErrMemoryLimit, ErrInput, ErrOutput, ErrInternal (a goja panic,
//     recovered) or ErrClosed; each is logged once with its detail (the
//     script's message and stack, never sent to a client), and
//     WriteHTTPError answers it with the spec's 500 ResponseError;
//   - the example adapter: SibanAccountsJS maps SIBAN, a fictional legacy
//     core, to accounts 2.4.2 (account list, account, balances; money moved
//     as digits, never through floats), and AccountsAdapter runs any script
//     with those three functions and checks every result strictly against
//     the spec's shapes (DecodeAccounts, DecodeAccountIdentification,
//     DecodeBalances: unknown fields, enums, patterns, lengths).
//
// What the sandbox enforces, and how:
//   - No host access. goja has no require, no timers, no network and no
//     file system; the only host object added is console
//     (log/info/debug/warn/error → slog, one line per call, capped at 1 KiB).
//     Binary buffers (ArrayBuffer, typed arrays, DataView, Atomics) and
//     WeakRef/FinalizationRegistry are removed.
//   - No state between calls. After the script loads, everything reachable
//     from the global object (built-ins, prototypes, the script's functions
//     and top-level var objects) is deep-frozen; scripts run in strict mode,
//     so writing to it throws. A module-level let/const binding holding a
//     mutable object is still per-VM state: mapping functions must be pure.
//   - Time. Options.Timeout (or the caller's earlier deadline, or
//     cancellation) interrupts the VM between JS instructions. goja cannot
//     interrupt a native built-in (a backtracking regular expression, a
//     sort, a loop over a huge array-like): such a call is abandoned
//     Options.Grace after the interrupt; the caller gets ErrTimeout at once,
//     the VM is dropped, and its pool slot returns only when the built-in
//     ends, so stuck calls reduce capacity instead of piling up.
//   - Memory, which goja cannot cap directly. (1) Input and output sizes
//     (MaxInputBytes, MaxOutputBytes). (2) An allocation watchdog: every
//     WatchInterval the process's cumulative heap allocation
//     (runtime/metrics /gc/heap/allocs:bytes, read without stopping the
//     world) is compared with its value at the start of the call; beyond
//     MaxAllocBytes the VM is interrupted (ErrMemoryLimit). The counter is
//     process-wide, so allocation by other goroutines during the call counts
//     too: the budget is a safety net, not an accounting. (3) The built-ins
//     that allocate or loop a caller-chosen size in one native step are
//     guarded: String.prototype.repeat/padStart/padEnd beyond
//     MaxStringLength; every Array.prototype method, Array.from,
//     Function.prototype.apply and Reflect.apply/construct on an array-like
//     longer than MaxArrayLength; these interrupt the VM (uncatchable).
//     (4) The result is walked before encoding: arrays longer than
//     MaxArrayLength or nesting deeper than 64 are ErrOutput.
//   - Residual risk. A native step the guards do not cover (JSON.stringify
//     called by the script on a huge sparse array, a regular expression with
//     catastrophic backtracking) runs to its end on an abandoned goroutine,
//     using CPU and possibly memory meanwhile. The sandbox protects the
//     process from a buggy script; scripts from untrusted authors belong in
//     a separate process.
//
// It never fetches from the legacy system itself (the caller passes the
// response in), never writes HTTP except through WriteHTTPError, and never
// logs the input or output data (only the script's own console lines, and
// failure details).
package legacyjs
