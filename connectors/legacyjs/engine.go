package legacyjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Options bound every call. Zero fields take DefaultOptions' values.
type Options struct {
	// Timeout is the wall-clock budget of one call (JSON parsing of the
	// input, the function, JSON encoding of the result). A caller's
	// earlier context deadline wins.
	Timeout time.Duration
	// LoadTimeout bounds loading the script into a new VM (its top-level
	// code and the hardening pass); a VM is loaded once and reused.
	LoadTimeout time.Duration
	// Grace is how long a call that ignores the interrupt (it is inside a
	// native built-in) is waited for before it is abandoned.
	Grace time.Duration
	// MaxInputBytes caps the sum of the arguments' sizes.
	MaxInputBytes int
	// MaxOutputBytes caps the JSON the function's result encodes to.
	MaxOutputBytes int
	// MaxAllocBytes is the allocation budget of one call, checked every
	// WatchInterval against the process's heap-allocation counter.
	MaxAllocBytes int64
	// WatchInterval is the period of the allocation watchdog.
	WatchInterval time.Duration
	// MaxStringLength caps what String.prototype.repeat, padStart and
	// padEnd may build in one step (UTF-16 code units).
	MaxStringLength int64
	// MaxArrayLength caps the length of arrays (and array-likes) that the
	// native Array methods, Array.from, Function.prototype.apply and
	// Reflect.apply/construct accept, and of arrays in the result: goja
	// cannot interrupt a native loop, and a sparse array of length 2³² costs
	// nothing to create but minutes to iterate.
	MaxArrayLength int64
	// MaxCallStackSize caps JS recursion depth.
	MaxCallStackSize int
	// PoolSize is how many VMs may exist at once, which bounds the calls
	// running concurrently (others wait for a VM, within their context).
	PoolSize int
	// Logger receives one line per failed call and the scripts'
	// console output.
	Logger *slog.Logger
}

// DefaultOptions: 250 ms, 1 MiB in and out, 64 MiB of allocation, one VM
// per CPU.
func DefaultOptions() Options {
	return Options{
		Timeout:          250 * time.Millisecond,
		LoadTimeout:      2 * time.Second,
		Grace:            50 * time.Millisecond,
		MaxInputBytes:    1 << 20,
		MaxOutputBytes:   1 << 20,
		MaxAllocBytes:    64 << 20,
		WatchInterval:    2 * time.Millisecond,
		MaxStringLength:  1 << 20,
		MaxArrayLength:   1 << 20,
		MaxCallStackSize: 256,
		PoolSize:         runtime.GOMAXPROCS(0),
		Logger:           slog.Default(),
	}
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = d.LoadTimeout
	}
	if o.Grace <= 0 {
		o.Grace = d.Grace
	}
	if o.MaxInputBytes <= 0 {
		o.MaxInputBytes = d.MaxInputBytes
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = d.MaxOutputBytes
	}
	if o.MaxAllocBytes <= 0 {
		o.MaxAllocBytes = d.MaxAllocBytes
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = d.WatchInterval
	}
	if o.MaxStringLength <= 0 {
		o.MaxStringLength = d.MaxStringLength
	}
	if o.MaxArrayLength <= 0 {
		o.MaxArrayLength = d.MaxArrayLength
	}
	if o.MaxCallStackSize <= 0 {
		o.MaxCallStackSize = d.MaxCallStackSize
	}
	if o.PoolSize <= 0 {
		o.PoolSize = d.PoolSize
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
}

// Engine runs one operator script's mapping functions in a pool of
// sandboxed goja VMs. It is safe for concurrent use.
type Engine struct {
	name string
	prog *goja.Program
	opts Options
	log  *slog.Logger

	tokens chan struct{} // one per VM that may exist
	idle   chan *vm      // VMs ready for a call

	mu     sync.Mutex
	closed bool
}

// New compiles source (an operator's script that defines mapping functions
// as top-level function declarations) and loads it once to check that it
// runs within the limits. name identifies the adapter in logs and errors.
func New(name, source string, opts Options) (*Engine, error) {
	opts.fill()
	prog, err := goja.Compile(name, source, true)
	if err != nil {
		return nil, fmt.Errorf("legacyjs: compile %s: %w", name, err)
	}
	e := &Engine{
		name: name, prog: prog, opts: opts,
		log:    opts.Logger.With("adapter", name),
		tokens: make(chan struct{}, opts.PoolSize),
		idle:   make(chan *vm, opts.PoolSize),
	}
	for range opts.PoolSize {
		e.tokens <- struct{}{}
	}
	v, err := e.newVM()
	if err != nil {
		return nil, err
	}
	e.idle <- v
	return e, nil
}

// Close drops the idle VMs; calls after Close fail with ErrClosed. Calls in
// flight finish normally.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	for {
		select {
		case <-e.idle:
		default:
			return
		}
	}
}

// vm is one sandboxed runtime with the script loaded.
type vm struct {
	rt        *goja.Runtime
	parse     goja.Callable // intrinsic JSON.parse, captured before the script ran
	stringify goja.Callable
	fn        string // the function being called, for console lines
}

var removedGlobals = []string{
	// Binary buffers allocate their full size in one native step.
	"ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
	"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
	"Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array",
	"BigInt64Array", "BigUint64Array",
	// Nothing a pure mapping needs.
	"WeakRef", "FinalizationRegistry",
}

// hardenJS deep-freezes everything reachable from the global object (the
// built-ins, their prototypes and the script's functions), so one call
// cannot leave state on them for the next.
const hardenJS = `(function () {
  const seen = new WeakSet();
  const freeze = function (o) {
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    for (const k of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, k);
      if (d === undefined) continue;
      if ("value" in d) freeze(d.value); else { freeze(d.get); freeze(d.set); }
    }
    freeze(Reflect.getPrototypeOf(o));
  };
  freeze(globalThis);
})();`

var hardenProg = goja.MustCompile("harden", hardenJS, true)

func (e *Engine) newVM() (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(e.opts.MaxCallStackSize)
	v := &vm{rt: rt}
	g := rt.GlobalObject()
	for _, name := range removedGlobals {
		if err := g.Delete(name); err != nil {
			return nil, fmt.Errorf("legacyjs: remove %s: %w", name, err)
		}
	}
	jsonObj := rt.Get("JSON").ToObject(rt)
	v.parse, _ = goja.AssertFunction(jsonObj.Get("parse"))
	v.stringify, _ = goja.AssertFunction(jsonObj.Get("stringify"))
	if err := e.installConsole(v); err != nil {
		return nil, err
	}
	if err := e.guardStrings(rt); err != nil {
		return nil, err
	}
	if err := e.guardArrays(rt); err != nil {
		return nil, err
	}

	// Load the script and harden, under the same limits as a call.
	res := e.supervise(context.Background(), rt, e.opts.LoadTimeout, func() (string, error) {
		if _, err := rt.RunProgram(e.prog); err != nil {
			return "", err
		}
		_, err := rt.RunProgram(hardenProg)
		return "", err
	})
	if res.err != nil {
		return nil, e.fail("(load)", res.err, res.elapsed)
	}
	return v, nil
}

// installConsole gives scripts console.log/info/warn/error/debug, written
// to the logger (each line capped at 1 KiB). Nothing else of the host is
// reachable: goja has no require, no timers, no network and no files.
func (e *Engine) installConsole(v *vm) error {
	console := v.rt.NewObject()
	for name, level := range map[string]slog.Level{
		"log": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		level := level
		err := console.Set(name, func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = a.String()
			}
			msg := strings.Join(parts, " ")
			if len(msg) > 1024 {
				msg = msg[:1024] + "…"
			}
			e.log.Log(context.Background(), level, "legacyjs console", "function", v.fn, "message", msg)
			return goja.Undefined()
		})
		if err != nil {
			return err
		}
	}
	return v.rt.Set("console", console)
}

// guardStrings wraps the built-ins that build a large string in one native
// step: beyond MaxStringLength the call is interrupted as a memory-limit
// failure (the interrupt cannot be caught by the script).
func (e *Engine) guardStrings(rt *goja.Runtime) error {
	proto := rt.Get("String").ToObject(rt).Get("prototype").ToObject(rt)
	limit := e.opts.MaxStringLength
	for _, name := range []string{"repeat", "padStart", "padEnd"} {
		orig, ok := goja.AssertFunction(proto.Get(name))
		if !ok {
			return fmt.Errorf("legacyjs: String.prototype.%s missing", name)
		}
		isRepeat := name == "repeat"
		err := proto.Set(name, func(call goja.FunctionCall) goja.Value {
			n := call.Argument(0).ToInteger()
			size := n
			if isRepeat {
				size = int64(len(call.This.String())) * n
				if n > 0 && size/n != int64(len(call.This.String())) {
					size = limit + 1 // overflow
				}
			}
			if size > limit {
				rt.Interrupt(errStringLimit)
				return goja.Undefined()
			}
			res, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return res
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// guardArrays wraps the native functions that loop over an array-like's
// length: beyond MaxArrayLength (on this or any argument) the call is
// interrupted as a memory-limit failure.
func (e *Engine) guardArrays(rt *goja.Runtime) error {
	limit := e.opts.MaxArrayLength
	tooLong := func(v goja.Value) bool {
		o, ok := v.(*goja.Object)
		if !ok {
			return false
		}
		if _, isFn := goja.AssertFunction(o); isFn {
			return false // a function's length is its arity
		}
		n := o.Get("length")
		return n != nil && n.ToInteger() > limit
	}
	wrap := func(obj *goja.Object, name string) error {
		orig, ok := goja.AssertFunction(obj.Get(name))
		if !ok {
			return nil // not in this goja version
		}
		return obj.Set(name, func(call goja.FunctionCall) goja.Value {
			bad := tooLong(call.This)
			for _, a := range call.Arguments {
				bad = bad || tooLong(a)
			}
			if bad {
				rt.Interrupt(errArrayLimit)
				return goja.Undefined()
			}
			res, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return res
		})
	}
	arrayCtor := rt.Get("Array").ToObject(rt)
	proto := arrayCtor.Get("prototype").ToObject(rt)
	for _, name := range proto.GetOwnPropertyNames() {
		if name == "constructor" || name == "length" {
			continue
		}
		if err := wrap(proto, name); err != nil {
			return err
		}
	}
	if err := wrap(arrayCtor, "from"); err != nil {
		return err
	}
	if err := wrap(rt.Get("Function").ToObject(rt).Get("prototype").ToObject(rt), "apply"); err != nil {
		return err
	}
	reflect := rt.Get("Reflect").ToObject(rt)
	for _, name := range []string{"apply", "construct"} {
		if err := wrap(reflect, name); err != nil {
			return err
		}
	}
	return nil
}

// checkResult walks a result before JSON.stringify runs natively over it:
// arrays longer than MaxArrayLength and nesting deeper than 64 are refused.
func (e *Engine) checkResult(v goja.Value, depth int) error {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	if _, isFn := goja.AssertFunction(o); isFn {
		return nil // JSON.stringify drops functions
	}
	if depth > 64 {
		return fmt.Errorf("%w: result nested deeper than 64", ErrOutput)
	}
	if o.ClassName() == "Array" {
		n := o.Get("length").ToInteger()
		if n > e.opts.MaxArrayLength {
			return fmt.Errorf("%w: result array of length %d > %d", ErrOutput, n, e.opts.MaxArrayLength)
		}
		for i := range n {
			if err := e.checkResult(o.Get(strconv.FormatInt(i, 10)), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range o.Keys() {
		if err := e.checkResult(o.Get(k), depth+1); err != nil {
			return err
		}
	}
	return nil
}

var (
	errArrayLimit  = errors.New("array longer than MaxArrayLength")
	errStringLimit = errors.New("string longer than MaxStringLength")
	errAllocLimit  = errors.New("allocated more than MaxAllocBytes")
	errDeadline    = errors.New("deadline reached")
)

// Call runs function fn of the script with args (each a JSON document,
// parsed with JSON.parse inside the VM) and returns its result encoded
// with JSON.stringify. Every failure is an *Error (see the sentinels); the
// process never crashes on a script, and one line per failure is logged.
func (e *Engine) Call(ctx context.Context, fn string, args ...[]byte) ([]byte, error) {
	start := time.Now()
	total := 0
	for _, a := range args {
		total += len(a)
	}
	if total > e.opts.MaxInputBytes {
		return nil, e.fail(fn, fmt.Errorf("%w: %d bytes > %d", ErrInput, total, e.opts.MaxInputBytes), 0)
	}
	for i, a := range args {
		if !json.Valid(a) {
			return nil, e.fail(fn, fmt.Errorf("%w: argument %d is not JSON", ErrInput, i), 0)
		}
	}
	v, err := e.acquire(ctx)
	if err != nil {
		return nil, e.fail(fn, err, time.Since(start))
	}
	v.fn = fn
	res := e.supervise(ctx, v.rt, e.opts.Timeout, func() (string, error) { return v.call(fn, args, e.checkResult) })
	switch {
	case res.abandoned:
		// The goroutine still runs; it returns its token when it ends.
	case res.err == nil || isThrow(res.err) || errors.Is(res.err, ErrScript) || errors.Is(res.err, ErrOutput):
		// A clean return or a script-level failure leaves the VM usable.
		v.rt.ClearInterrupt()
		e.release(v)
	default:
		e.discard()
	}
	if res.err != nil {
		return nil, e.fail(fn, res.err, res.elapsed)
	}
	if len(res.out) > e.opts.MaxOutputBytes {
		return nil, e.fail(fn, fmt.Errorf("%w: result of %d bytes > %d", ErrOutput, len(res.out), e.opts.MaxOutputBytes), res.elapsed)
	}
	return []byte(res.out), nil
}

func isThrow(err error) bool {
	var ex *goja.Exception
	var intr *goja.InterruptedError
	var so *goja.StackOverflowError
	return errors.As(err, &ex) && !errors.As(err, &intr) && !errors.As(err, &so)
}

func (v *vm) call(fn string, args [][]byte, check func(goja.Value, int) error) (string, error) {
	f, ok := goja.AssertFunction(v.rt.Get(fn))
	if !ok {
		return "", fmt.Errorf("%w: no function %q in the script", ErrScript, fn)
	}
	jsArgs := make([]goja.Value, len(args))
	for i, a := range args {
		val, err := v.parse(goja.Undefined(), v.rt.ToValue(string(a)))
		if err != nil {
			return "", err
		}
		jsArgs[i] = val
	}
	res, err := f(goja.Undefined(), jsArgs...)
	if err != nil {
		return "", err
	}
	if err := check(res, 0); err != nil {
		return "", err
	}
	out, err := v.stringify(goja.Undefined(), res)
	if err != nil {
		return "", err
	}
	if goja.IsUndefined(out) {
		return "", fmt.Errorf("%w: the function returned undefined or a function", ErrOutput)
	}
	return out.String(), nil
}

type result struct {
	out       string
	err       error
	elapsed   time.Duration
	abandoned bool
}

// supervise runs work on its own goroutine and enforces the limits: the
// deadline (Timeout or ctx's, whichever is first), ctx cancellation and
// the allocation budget interrupt the VM; a VM that does not stop within
// Grace (it is inside a native built-in, which goja cannot interrupt) is
// abandoned: the caller gets ErrTimeout at once and the VM is dropped when
// its goroutine ends. Panics inside goja become ErrInternal.
func (e *Engine) supervise(ctx context.Context, rt *goja.Runtime, timeout time.Duration, work func() (string, error)) result {
	start := time.Now()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("%w: panic: %v", ErrInternal, p)}
			}
		}()
		out, err := work()
		done <- result{out: out, err: err}
	}()

	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	watch := time.NewTicker(e.opts.WatchInterval)
	defer watch.Stop()
	alloc0 := heapAllocs()
	var grace <-chan time.Time
	var reason error
	interrupt := func(why error) {
		if reason == nil {
			reason = why
			rt.Interrupt(why)
			grace = time.After(e.opts.Grace)
		}
	}
	for {
		select {
		case r := <-done:
			r.elapsed = time.Since(start)
			return r
		case <-timer.C:
			interrupt(errDeadline)
		case <-ctx.Done():
			interrupt(ctx.Err())
		case <-watch.C:
			if heapAllocs()-alloc0 > uint64(e.opts.MaxAllocBytes) {
				interrupt(errAllocLimit)
			}
		case <-grace:
			go func() {
				<-done
				e.discard()
			}()
			err := fmt.Errorf("%w: still running %s after the interrupt (%v); VM abandoned", kindOf(reason), e.opts.Grace, reason)
			return result{err: err, elapsed: time.Since(start), abandoned: true}
		}
	}
}

// kindOf maps an interrupt reason to its sentinel.
func kindOf(reason error) error {
	switch {
	case errors.Is(reason, errAllocLimit), errors.Is(reason, errStringLimit), errors.Is(reason, errArrayLimit):
		return ErrMemoryLimit
	default:
		return ErrTimeout
	}
}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
var allocMu sync.Mutex

// heapAllocs is the process's cumulative heap allocation. runtime/metrics
// reads it without stopping the world (unlike runtime.ReadMemStats).
func heapAllocs() uint64 {
	allocMu.Lock()
	defer allocMu.Unlock()
	metrics.Read(allocSample)
	if allocSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return allocSample[0].Value.Uint64()
}

func (e *Engine) acquire(ctx context.Context) (*vm, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	select {
	case <-e.tokens:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for a VM: %v", ErrTimeout, ctx.Err())
	}
	select {
	case v := <-e.idle:
		return v, nil
	default:
	}
	v, err := e.newVM()
	if err != nil {
		e.tokens <- struct{}{}
		return nil, err
	}
	return v, nil
}

func (e *Engine) release(v *vm) {
	v.fn = ""
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if !closed {
		e.idle <- v // never blocks: at most PoolSize VMs exist
	}
	e.tokens <- struct{}{}
}

// discard drops a VM that was interrupted, panicked or abandoned.
func (e *Engine) discard() { e.tokens <- struct{}{} }

// fail turns err into an *Error and logs it (one line per failed call).
func (e *Engine) fail(fn string, err error, elapsed time.Duration) error {
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	out := &Error{Adapter: e.name, Function: fn, Detail: err.Error(), Elapsed: elapsed}
	var intr *goja.InterruptedError
	var so *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.As(err, &intr):
		reason, _ := intr.Value().(error)
		out.Kind = kindOf(reason)
		out.Detail = fmt.Sprintf("interrupted: %v", reason)
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrMemoryLimit), errors.Is(err, ErrInput),
		errors.Is(err, ErrOutput), errors.Is(err, ErrInternal), errors.Is(err, ErrClosed), errors.Is(err, ErrScript):
		for _, k := range []error{ErrTimeout, ErrMemoryLimit, ErrInput, ErrOutput, ErrInternal, ErrClosed, ErrScript} {
			if errors.Is(err, k) {
				out.Kind = k
				break
			}
		}
	case errors.As(err, &so):
		out.Kind = ErrScript
		out.Detail = "stack overflow: " + so.Error()
	case errors.As(err, &ex):
		out.Kind = ErrScript
		out.Detail = "threw: " + ex.Error()
	default:
		out.Kind = ErrInternal
	}
	e.log.Warn("legacyjs mapping failed", "function", fn, "kind", out.Kind.Error(), "detail", out.Detail, "elapsed", elapsed)
	return out
}
