import Foundation
import Testing
import NetcKernels

/// Timing check, not a unit test: skipped unless NETC_BENCH is set. Run in release:
///   NETC_BENCH=1 swift test -c release --filter convTiming
/// 3x3 conv, 64 -> 64 channels, N = 128, 24x24, pad 1: forward + backward data + backward filter.
@Test(.enabled(if: ProcessInfo.processInfo.environment["NETC_BENCH"] != nil))
func convTiming() {
    let g = ConvGeometry(n: 128, inChannels: 64, height: 24, width: 24, outChannels: 64,
                         kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    var rng = TestRNG(seed: 1)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng, range: -0.05...0.05)
    let dy = randomArray(g.outputCount, &rng)
    var y = zeros(g.outputCount), dx = zeros(g.inputCount), dw = zeros(g.weightCount), db = zeros(64)
    var ws = zeros(g.workspaceCount)
    let gemmFlops = 2.0 * Double(g.outChannels * g.patchSize * g.n * g.outH * g.outW)  // per GEMM
    func time(_ body: () -> Void) -> Double {
        body()                                                // warm-up (page faults, BLAS threads)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }
    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in dy.withUnsafeBufferPointer { dyp in
    ws.withUnsafeMutableBufferPointer { wsp in y.withUnsafeMutableBufferPointer { yp in
    dx.withUnsafeMutableBufferPointer { dxp in dw.withUnsafeMutableBufferPointer { dwp in
    db.withUnsafeMutableBufferPointer { dbp in
        let tf = time { convForward(g, x: xp, weight: wp, bias: nil, y: yp, workspace: wsp) }
        let td = time { convBackwardData(g, dy: dyp, weight: wp, dx: dxp, workspace: wsp, accumulate: false) }
        let tw = time { convBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: dbp, workspace: wsp) }
        func line(_ name: String, _ t: Double, _ flops: Double) -> String {
            "\(name): \(String(format: "%.1f", t * 1000)) ms, \(String(format: "%.1f", flops / t / 1e9)) GFLOPS"
        }
        print(line("conv fwd        ", tf, gemmFlops))
        print(line("conv bwd data   ", td, gemmFlops))
        print(line("conv bwd filter ", tw, gemmFlops))
        print(line("conv fwd+bwd    ", tf + td + tw, 3 * gemmFlops))
        // The forward's GEMMs alone (same chunks, col already unfolded) show what im2col costs.
        let ohw = g.outH * g.outW, cols = g.n * ohw, step = g.imagesPerChunk
        let tg = time {
            for n0 in stride(from: 0, to: g.n, by: step) {
                let width = min(step, g.n - n0) * ohw
                gemm(m: 64, n: width, k: g.patchSize, a: wp.baseAddress!, lda: g.patchSize,
                     b: UnsafePointer(wsp.baseAddress!), ldb: width, c: yp.baseAddress! + n0 * ohw, ldc: cols)
            }
        }
        print(line("GEMM only (fwd) ", tg, gemmFlops))
    } } } } } } } }
}

/// Timing check, not a unit test: skipped unless NETC_BENCH is set. Run in release:
///   NETC_BENCH=1 swift test -c release --filter directConvTiming
/// The stem's 7x7 stride 2 (96x96 -> 48x48, 64 channels, N = 32) on 1 to 16 input channels:
/// the direct kernels against im2col + GEMM, forward and weight gradient (where `directConvFits`
/// draws its bound).
@Test(.enabled(if: ProcessInfo.processInfo.environment["NETC_BENCH"] != nil))
func directConvTiming() {
    for cin in [1, 2, 3, 4, 6, 8, 16] {
        let g = ConvGeometry(n: 32, inChannels: cin, height: 96, width: 96, outChannels: 64, kernelH: 7, kernelW: 7,
                             strideH: 2, strideW: 2, padH: 3, padW: 3)
        var rng = TestRNG(seed: 1)
        let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng), dy = randomArray(g.outputCount, &rng)
        var y = zeros(g.outputCount), dw = zeros(g.weightCount), ws = zeros(g.workspaceCount)
        func best(_ body: () -> Void) -> Double {
            body()
            var t = Double.infinity
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            return t
        }
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in dy.withUnsafeBufferPointer { dyp in
        y.withUnsafeMutableBufferPointer { yp in dw.withUnsafeMutableBufferPointer { dwp in ws.withUnsafeMutableBufferPointer { wsp in
            let directForward = best { directConvForward(g, x: xp, weight: wp, bias: nil, y: yp) }
            let im2colForward = best { convForward(g, x: xp, weight: wp, bias: nil, y: yp, workspace: wsp) }
            let directFilter = best { directConvBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: nil) }
            let im2colFilter = best { convBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: nil, workspace: wsp) }
            print(String(format: "Cin %2d: forward direct %6.2f ms, im2col %6.2f ms; weight gradient direct %6.2f ms, im2col %6.2f ms",
                         cin, directForward, im2colForward, directFilter, im2colFilter))
        } } } } } }
    }
}
