import Imaging

/// Draws a `ShapeScene` into 8-bit RGB: textured grey background, the shape anti-aliased by its
/// signed distance (1-pixel ramp), the two-tone outline, brightness, a little sensor noise, then
/// rounding to bytes. Pure Float/Double arithmetic and `ShapeRandom`, so the bytes are the same on
/// every machine. Used by the corpus and dataset writers.
public enum ShapeRenderer {
    /// The picture of `scene` (`scene.imageSize` square).
    public static func render(_ scene: ShapeScene) -> RGBImage {
        let side = scene.imageSize
        var pixels = [UInt8](repeating: 0, count: side * side * 3)  // [H, W, 3]
        pixels.withUnsafeMutableBufferPointer { render(scene, into: $0.baseAddress!) }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    /// Writes the picture into `out` ([side, side, 3] bytes).
    public static func render(_ scene: ShapeScene, into out: UnsafeMutablePointer<UInt8>) {
        let side = scene.imageSize
        var canvas = [Float](repeating: 0, count: side * side * 3)  // [H, W, 3] in 0…1
        var noise = ShapeRandom(state: scene.noiseSeed)
        canvas.withUnsafeMutableBufferPointer { buffer in
            let c = buffer.baseAddress!
            paintBackground(scene, c, &noise)
            paintShape(scene, c)
            let gain = Float(scene.brightness), grain = Float(scene.grain)
            for k in 0..<(side * side * 3) {
                let jitter = Float(noise.uniform(-1, 1)) * grain
                let v = c[k] * gain + jitter
                out[k] = UInt8(min(255, max(0, v * 255 + 0.5)))
            }
        }
    }

    /// Grey (slightly tinted) background plus the texture, the same offset on all three channels.
    private static func paintBackground(_ scene: ShapeScene, _ c: UnsafeMutablePointer<Float>, _ noise: inout ShapeRandom) {
        let side = scene.imageSize
        let base = (Float(scene.backgroundRGB.0), Float(scene.backgroundRGB.1), Float(scene.backgroundRGB.2))
        let amplitude = Float(scene.textureAmplitude)
        let period = Float(scene.texturePeriod)
        let (s, co) = PortableTrig.sinCos(scene.textureAngle)
        let dirX = Float(co), dirY = Float(s)
        let half = Float(side) / 2
        for y in 0..<side {
            for x in 0..<side {
                let px = Float(x) + 0.5, py = Float(y) + 0.5
                var offset: Float = 0
                switch scene.background {
                case .plain:
                    offset = 0
                case .noise:
                    offset = amplitude * Float(noise.uniform(-1, 1))
                case .stripes:
                    let u = (px * dirX + py * dirY) / period
                    offset = u - u.rounded(.down) < 0.5 ? amplitude : -amplitude
                case .checker:
                    let cell = Int((px / period).rounded(.down)) + Int((py / period).rounded(.down))
                    offset = cell & 1 == 0 ? amplitude : -amplitude
                case .gradient:
                    offset = amplitude * ((px - half) * dirX + (py - half) * dirY) / half
                }
                let p = c + (y * side + x) * 3
                p[0] = base.0 + offset
                p[1] = base.1 + offset
                p[2] = base.2 + offset
            }
        }
    }

    /// Composites the shape: coverage a of the whole shape, b of its interior (inside the outline);
    /// pixel = background·(1−a) + outline colour·(a−b) + interior colour·b.
    private static func paintShape(_ scene: ShapeScene, _ c: UnsafeMutablePointer<Float>) {
        let side = scene.imageSize
        let radius = Float(scene.radius)
        let cx = Float(scene.centerX), cy = Float(scene.centerY)
        let (s, co) = PortableTrig.sinCos(scene.rotation)
        let sinT = Float(s), cosT = Float(co)
        let outline = scene.style == .twoTone ? Float(scene.outlineWidth) : 0
        let edge = (Float(scene.rgb.0), Float(scene.rgb.1), Float(scene.rgb.2))
        let fill = (Float(scene.interiorRGB.0), Float(scene.interiorRGB.1), Float(scene.interiorRGB.2))
        let polygon = ShapeGeometry.polygon(scene.shape) ?? []
        let reach = radius + 2
        let y0 = max(0, Int((cy - reach).rounded(.down))), y1 = min(side - 1, Int((cy + reach).rounded(.up)))
        let x0 = max(0, Int((cx - reach).rounded(.down))), x1 = min(side - 1, Int((cx + reach).rounded(.up)))
        guard y0 <= y1, x0 <= x1 else { return }
        polygon.withUnsafeBufferPointer { vertices in
            for y in y0...y1 {
                for x in x0...x1 {
                    let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                    let ux = (cosT * dx + sinT * dy) / radius
                    let uy = (cosT * dy - sinT * dx) / radius
                    let d = ShapeGeometry.distance(scene.shape, vertices, ux, uy) * radius   // pixels, < 0 inside
                    let a = min(1, max(0, 0.5 - d))
                    if a == 0 { continue }
                    let b = outline > 0 ? min(1, max(0, 0.5 - (d + outline))) : a
                    let p = c + (y * side + x) * 3
                    let keep = 1 - a, rim = a - b
                    p[0] = p[0] * keep + edge.0 * rim + fill.0 * b
                    p[1] = p[1] * keep + edge.1 * rim + fill.1 * b
                    p[2] = p[2] * keep + edge.2 * rim + fill.2 * b
                }
            }
        }
    }
}
