// The 1-D transforms of Winograd's minimal filtering algorithms F(m, 3), from
// A. Lavin and S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016, §4.
// A 2-D F(m x m, 3 x 3) applies each one along rows and then along columns (nesting).
//
// For an input tile d (alpha = m + 2 values), a filter g (3 values) and an output tile y
// (m values), the correlation y[i] = Σ_k d[i + k] g[k] is computed as
//   y = Aᵀ [ (G g) ⊙ (Bᵀ d) ],        in 2-D:  Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A.
//
// F(2, 3), alpha = 4 (interpolation points 0, 1, -1, ∞):
//   Bᵀ = [ 1  0 -1  0 ]      G = [ 1    0    0   ]     Aᵀ = [ 1  1  1  0 ]
//        [ 0  1  1  0 ]          [ 1/2  1/2  1/2 ]          [ 0  1 -1 -1 ]
//        [ 0 -1  1  0 ]          [ 1/2 -1/2  1/2 ]
//        [ 0  1  0 -1 ]          [ 0    0    1   ]
//
// F(4, 3), alpha = 6 (points 0, 1, -1, 2, -2, ∞):
//   Bᵀ = [ 4  0 -5  0  1  0 ]    G = [  1/4     0      0   ]    Aᵀ = [ 1  1  1  1  1  0 ]
//        [ 0 -4 -4  1  1  0 ]        [ -1/6   -1/6   -1/6  ]         [ 0  1 -1  2 -2  0 ]
//        [ 0  4 -4 -1  1  0 ]        [ -1/6    1/6   -1/6  ]         [ 0  1  1  4  4  0 ]
//        [ 0 -2 -1  2  1  0 ]        [  1/24   1/12   1/6  ]         [ 0  1 -1  8 -8  1 ]
//        [ 0  2 -1 -2  1  0 ]        [  1/24  -1/12   1/6  ]
//        [ 0  4  0 -5  0  1 ]        [  0      0      1    ]
//
// The weight gradient dg[k] = Σ_i dy[i] d[i + k] is the same bilinear form read the other way
// (Winograd's transposition principle; Lavin & Gray's F(3x3, 2x2) is this, up to where the
// 1/2 factors sit): from y = Aᵀ[(G g) ⊙ (Bᵀ d)], Σ_i dy[i] y[i] = gᵀ Gᵀ [(A dy) ⊙ (Bᵀ d)], so
//   dg = Gᵀ [ (A dy) ⊙ (Bᵀ d) ],       in 2-D:  dG = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B) ] G,
// with the same Bᵀ as the forward pass, A = (Aᵀ)ᵀ on the m x m gradient tile and Gᵀ back to 3x3.
//
// Why the error grows with m: the constants in A (up to 8) and B (up to 5) amplify the float32
// rounding of the products summed in the transformed domain, and G's fractions (1/6, 1/24)
// are inexact in binary; F(2, 3)'s constants are 0, ±1, ±1/2, all exact. See WinogradTests.

/// Values the 1-D transforms run on: a single float (tile by tile) or a SIMD vector (one lane
/// per column, for the pass along the other axis).
protocol WinogradLanes {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Float) -> Self
    static prefix func - (a: Self) -> Self
    static func load(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
}

extension Float: WinogradLanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Float { p.pointee }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { p.pointee = self }
}

/// Lanes of the column-wise passes; staging rows are padded to a multiple of this.
typealias WinogradVector = SIMD8<Float>
let winogradVectorWidth = 8

extension SIMD8: WinogradLanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD8<Float>.self)
    }
}

/// One Winograd algorithm F(m, 3) as five strided 1-D transforms. Each reads its inputs at
/// `s, s + ss, s + 2*ss, ...` and writes its outputs at `d, d + ds, ...`; `L` is Float (one
/// tile) or a SIMD vector (one tile per lane). Each reads all its inputs before writing any
/// output, so `d == s, ds == ss` transforms in place.
protocol WinogradTransform {
    /// Output tile side m.
    static var m: Int { get }
    /// Input tile side alpha = m + 2.
    static var alpha: Int { get }
    /// Bᵀ d: alpha -> alpha (input tiles, forward and weight gradient).
    static func input<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                        _ ds: Int, _: L.Type)
    /// G g: 3 -> alpha (filters).
    static func filter<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type)
    /// Aᵀ M: alpha -> m (back to output tiles).
    static func output<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type)
    /// A dy: m -> alpha (output-gradient tiles, weight gradient).
    static func outputAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type)
    /// Gᵀ S: alpha -> 3 (back to the filter, weight gradient).
    static func filterAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type)
}

/// F(2x2, 3x3): alpha = 4, 16 GEMMs for 4 outputs per tile (2.25x fewer multiplies than direct).
enum WinogradF2: WinogradTransform {
    static var m: Int { 2 }
    static var alpha: Int { 4 }

    @inline(__always)
    static func input<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                        _ ds: Int, _: L.Type) {
        let d0 = L.load(s), d1 = L.load(s + ss), d2 = L.load(s + 2 &* ss), d3 = L.load(s + 3 &* ss)
        (d0 - d2).store(d)
        (d1 + d2).store(d + ds)
        (d2 - d1).store(d + 2 &* ds)
        (d1 - d3).store(d + 3 &* ds)
    }

    @inline(__always)
    static func filter<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type) {
        let g0 = L.load(s), g1 = L.load(s + ss), g2 = L.load(s + 2 &* ss)
        let even = (g0 + g2) * 0.5, odd = g1 * 0.5
        g0.store(d)
        (even + odd).store(d + ds)
        (even - odd).store(d + 2 &* ds)
        g2.store(d + 3 &* ds)
    }

    @inline(__always)
    static func output<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type) {
        let m0 = L.load(s), m1 = L.load(s + ss), m2 = L.load(s + 2 &* ss), m3 = L.load(s + 3 &* ss)
        (m0 + m1 + m2).store(d)
        (m1 - m2 - m3).store(d + ds)
    }

    @inline(__always)
    static func outputAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type) {
        let y0 = L.load(s), y1 = L.load(s + ss)
        y0.store(d)
        (y0 + y1).store(d + ds)
        (y0 - y1).store(d + 2 &* ds)
        (-y1).store(d + 3 &* ds)
    }

    @inline(__always)
    static func filterAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type) {
        let u0 = L.load(s), u1 = L.load(s + ss), u2 = L.load(s + 2 &* ss), u3 = L.load(s + 3 &* ss)
        let sum = (u1 + u2) * 0.5
        (u0 + sum).store(d)
        ((u1 - u2) * 0.5).store(d + ds)
        (sum + u3).store(d + 2 &* ds)
    }
}

/// F(4x4, 3x3): alpha = 6, 36 GEMMs for 16 outputs per tile (4x fewer multiplies than direct).
enum WinogradF4: WinogradTransform {
    static var m: Int { 4 }
    static var alpha: Int { 6 }

    @inline(__always)
    static func input<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                        _ ds: Int, _: L.Type) {
        let d0 = L.load(s), d1 = L.load(s + ss), d2 = L.load(s + 2 &* ss)
        let d3 = L.load(s + 3 &* ss), d4 = L.load(s + 4 &* ss), d5 = L.load(s + 5 &* ss)
        // Rows 1-4 share two even and two odd partial sums.
        let e4 = d4 - d2 * 4, o4 = d3 - d1 * 4    // rows 1, 2
        let e2 = d4 - d2, o2 = (d3 - d1) * 2      // rows 3, 4
        (d0 * 4 - d2 * 5 + d4).store(d)
        (e4 + o4).store(d + ds)
        (e4 - o4).store(d + 2 &* ds)
        (e2 + o2).store(d + 3 &* ds)
        (e2 - o2).store(d + 4 &* ds)
        (d1 * 4 - d3 * 5 + d5).store(d + 5 &* ds)
    }

    @inline(__always)
    static func filter<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type) {
        let g0 = L.load(s), g1 = L.load(s + ss), g2 = L.load(s + 2 &* ss)
        let a = (g0 + g2) * (-1.0 / 6), b = g1 * (-1.0 / 6)
        let c = g0 * (1.0 / 24) + g2 * (1.0 / 6), e = g1 * (1.0 / 12)
        (g0 * 0.25).store(d)
        (a + b).store(d + ds)
        (a - b).store(d + 2 &* ds)
        (c + e).store(d + 3 &* ds)
        (c - e).store(d + 4 &* ds)
        g2.store(d + 5 &* ds)
    }

    @inline(__always)
    static func output<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>,
                                         _ ds: Int, _: L.Type) {
        let m0 = L.load(s), m1 = L.load(s + ss), m2 = L.load(s + 2 &* ss)
        let m3 = L.load(s + 3 &* ss), m4 = L.load(s + 4 &* ss), m5 = L.load(s + 5 &* ss)
        let p12 = m1 + m2, q12 = m1 - m2, p34 = m3 + m4, q34 = m3 - m4
        (m0 + p12 + p34).store(d)
        (q12 + q34 * 2).store(d + ds)
        (p12 + p34 * 4).store(d + 2 &* ds)
        (q12 + q34 * 8 + m5).store(d + 3 &* ds)
    }

    @inline(__always)
    static func outputAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type) {
        let y0 = L.load(s), y1 = L.load(s + ss), y2 = L.load(s + 2 &* ss), y3 = L.load(s + 3 &* ss)
        let e1 = y0 + y2, o1 = y1 + y3                 // points ±1
        let e2 = y0 + y2 * 4, o2 = y1 * 2 + y3 * 8     // points ±2
        y0.store(d)
        (e1 + o1).store(d + ds)
        (e1 - o1).store(d + 2 &* ds)
        (e2 + o2).store(d + 3 &* ds)
        (e2 - o2).store(d + 4 &* ds)
        y3.store(d + 5 &* ds)
    }

    @inline(__always)
    static func filterAdjoint<L: WinogradLanes>(_ s: UnsafePointer<Float>, _ ss: Int,
                                                _ d: UnsafeMutablePointer<Float>, _ ds: Int, _: L.Type) {
        let u0 = L.load(s), u1 = L.load(s + ss), u2 = L.load(s + 2 &* ss)
        let u3 = L.load(s + 3 &* ss), u4 = L.load(s + 4 &* ss), u5 = L.load(s + 5 &* ss)
        let p12 = u1 + u2, q12 = u1 - u2, p34 = u3 + u4, q34 = u3 - u4
        (u0 * 0.25 - p12 * (1.0 / 6) + p34 * (1.0 / 24)).store(d)
        (q12 * (-1.0 / 6) + q34 * (1.0 / 12)).store(d + ds)
        (p12 * (-1.0 / 6) + p34 * (1.0 / 6) + u5).store(d + 2 &* ds)
    }
}
