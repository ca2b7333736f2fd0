/// The outline of each `ShapeKind` in unit coordinates (bounding radius ≤ 1, y pointing down) and
/// its signed distance: negative inside, positive outside, in the same units. Circle and ring are
/// analytic; the others are polygons (the heart sampled from its classic parametric curve).
/// Used by `ShapeRenderer` per pixel.
enum ShapeGeometry {
    /// Polygon vertices as interleaved [x0, y0, x1, y1, …] (Float), or nil for circle and ring.
    static func polygon(_ shape: ShapeKind) -> [Float]? {
        switch shape {
        case .circle, .ring: return nil
        case .square: return [-0.7, -0.7, 0.7, -0.7, 0.7, 0.7, -0.7, 0.7]
        case .triangle: return regular(points: 3, outer: 1.0, inner: nil)
        case .star: return regular(points: 5, outer: 1.0, inner: 0.42)
        case .cross:
            let a: Float = 0.28, e: Float = 0.92
            return [-a, -e, a, -e, a, -a, e, -a, e, a, a, a, a, e, -a, e, -a, a, -e, a, -e, -a, -a, -a]
        case .arrow:
            return [-0.92, -0.22, 0.18, -0.22, 0.18, -0.62, 0.95, 0, 0.18, 0.62, 0.18, 0.22, -0.92, 0.22]
        case .heart: return heart
        }
    }

    /// Signed distance of unit-coordinate point (x, y) to `shape`; `polygon` is `polygon(shape)`.
    @inline(__always)
    static func distance(_ shape: ShapeKind, _ polygon: UnsafeBufferPointer<Float>, _ x: Float, _ y: Float) -> Float {
        switch shape {
        case .circle: return (x * x + y * y).squareRoot() - 0.92
        case .ring: return abs((x * x + y * y).squareRoot() - 0.68) - 0.26
        default: return polygonDistance(polygon, x, y)
        }
    }

    /// Distance to the nearest edge, negated inside (even-odd rule).
    @inline(__always)
    static func polygonDistance(_ v: UnsafeBufferPointer<Float>, _ x: Float, _ y: Float) -> Float {
        let n = v.count / 2
        var best = Float.greatestFiniteMagnitude
        var inside = false
        var j = n - 1
        for i in 0..<n {
            let xi = v[2 * i], yi = v[2 * i + 1], xj = v[2 * j], yj = v[2 * j + 1]
            let ex = xj - xi, ey = yj - yi
            let wx = x - xi, wy = y - yi
            let t = min(1, max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)))
            let dx = wx - ex * t, dy = wy - ey * t
            best = min(best, dx * dx + dy * dy)
            if (yi > y) != (yj > y) && x < xi + (y - yi) * ex / ey { inside.toggle() }
            j = i
        }
        let d = best.squareRoot()
        return inside ? -d : d
    }

    /// A regular polygon (inner == nil) or star with its first point straight up.
    private static func regular(points: Int, outer: Double, inner: Double?) -> [Float] {
        let count = inner == nil ? points : 2 * points
        var v = [Float]()
        for k in 0..<count {
            let angle = -PortableTrig.pi / 2 + 2 * PortableTrig.pi * Double(k) / Double(count)
            let r = inner != nil && k % 2 == 1 ? inner! : outer
            let (s, c) = PortableTrig.sinCos(angle)
            v += [Float(r * c), Float(r * s)]
        }
        return v
    }

    /// x = 16 sin³t, y = −(13 cos t − 5 cos 2t − 2 cos 3t − cos 4t), 48 samples, centred on its
    /// bounding box and scaled to bounding radius 0.98.
    private static let heart: [Float] = {
        var raw = [(Double, Double)]()
        let samples = 48
        for k in 0..<samples {
            let t = 2 * PortableTrig.pi * Double(k) / Double(samples)
            let (s, c) = PortableTrig.sinCos(t)
            let c2 = PortableTrig.sinCos(2 * t).cos, c3 = PortableTrig.sinCos(3 * t).cos, c4 = PortableTrig.sinCos(4 * t).cos
            raw.append((16 * s * s * s, -(13 * c - 5 * c2 - 2 * c3 - c4)))
        }
        let midY = (raw.map(\.1).min()! + raw.map(\.1).max()!) / 2
        let extent = raw.map { ($0.0 * $0.0 + ($0.1 - midY) * ($0.1 - midY)).squareRoot() }.max()!
        return raw.flatMap { [Float(0.98 * $0.0 / extent), Float(0.98 * ($0.1 - midY) / extent)] }
    }()
}
