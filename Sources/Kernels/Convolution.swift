/// 2-D convolution as im2col + one GEMM over the whole batch, in channel-major batch layout
/// `[C, B, H, W]` (so a 1×1 convolution is a single GEMM with no copies). Used by the ModifiedResNet.
public enum Conv2D {
    /// Geometry of one convolution.
    public struct Shape {
        public var batch: Int, inChannels: Int, height: Int, width: Int
        public var outChannels: Int, kernel: Int, stride: Int, padding: Int

        public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                    kernel: Int, stride: Int = 1, padding: Int = 0) {
            self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
            self.outChannels = outChannels; self.kernel = kernel; self.stride = stride; self.padding = padding
        }

        public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
        public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
        /// Elements of the im2col buffer (0 when the convolution needs none).
        public var columnCount: Int {
            kernel == 1 && stride == 1 && padding == 0 ? 0 : inChannels * kernel * kernel * batch * outHeight * outWidth
        }
    }

    /// out[Cout, B, Ho, Wo] = W[Cout, Cin·k·k] · im2col(x) + bias (+ residual, laid out as out), then
    /// ReLU when `relu`. `columns` holds the im2col matrix (grown to `shape.columnCount` floats when
    /// needed). Every image's outputs are the bits it gets alone, by construction: in FP32 our
    /// kernel computes each output column as its own chain (`FP32GEMM.weightTimes`); when `products`
    /// carries BF16 weights, the BF16 kernel builds the columns itself, block by block, and adds
    /// bias and residual and applies ReLU as it stores (`BF16GEMM.convolution`).
    public static func forward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               residual: UnsafePointer<Float>? = nil, relu: Bool = false,
                               shape s: Shape, columns: GrowableBuffer<Float>, products: ProductScratch) {
        if let bf16 = products.bf16 {   // column-invariant by construction
            BF16GEMM.convolution(out, x, weight: weight, bias: bias, residual: residual, relu: relu, shape: s,
                                 weights: bf16, scratch: products.bf16Scratch)
            return
        }
        let n = s.batch * s.outHeight * s.outWidth
        let kdim = s.inChannels * s.kernel * s.kernel
        var source = x                                                        // [Cin·k·k, B·Ho·Wo]
        if s.columnCount > 0 {
            let cols = columns.pointer(capacity: s.columnCount)
            im2col(cols, x, shape: s)
            source = UnsafePointer(cols)
        }
        FP32GEMM.weightTimes(out, weight: weight, source, rows: s.outChannels, k: kdim, columns: n)
        finish(out, bias: bias, residual: residual, relu: relu, channels: s.outChannels, columns: n)
    }

    /// out[c, j] = ReLU((out[c, j] + bias[c]) + residual[c, j]), each term only when given: the
    /// product's epilogue, channel by channel while the channel's row is in cache.
    static func finish(_ out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                       relu: Bool, channels: Int, columns n: Int) {
        guard bias != nil || residual != nil || relu else { return }
        Parallel.ranges(channels, work: channels * n) { range in for c in range {
            let row = out + c * n, add = bias?[c], r = residual.map { $0 + c * n }
            for j in 0..<n {
                var v = row[j]
                if let add { v += add }
                if let r { v += r[j] }
                row[j] = !relu || v > 0 ? v : 0                   // as `ReLU.forward`
            }
        } }
    }

    /// cols[(c·k + ky)·k + kx, (b·Ho + oy)·Wo + ox] = x[c, b, oy·stride + ky − pad, ox·stride + kx − pad] (0 outside).
    static func im2col(_ cols: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, shape s: Shape) {
        let Ho = s.outHeight, Wo = s.outWidth, H = s.height, W = s.width, k = s.kernel
        let n = s.batch * Ho * Wo
        Parallel.ranges(s.inChannels, work: s.columnCount) { channels in for c in channels {
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * n
                    for b in 0..<s.batch {
                        let plane = x + (c * s.batch + b) * H * W
                        for oy in 0..<Ho {
                            let iy = oy * s.stride + ky - s.padding
                            let dst = row + (b * Ho + oy) * Wo
                            if iy < 0 || iy >= H {
                                dst.update(repeating: 0, count: Wo)
                                continue
                            }
                            let src = plane + iy * W
                            if s.stride == 1 {
                                // ix = ox + kx − pad: zeros, one contiguous run of the input row, zeros
                                let lo = min(max(0, s.padding - kx), Wo), hi = max(lo, min(Wo, W + s.padding - kx))
                                dst.update(repeating: 0, count: lo)
                                (dst + lo).update(from: src + lo + kx - s.padding, count: hi - lo)
                                (dst + hi).update(repeating: 0, count: Wo - hi)
                            } else {
                                for ox in 0..<Wo {
                                    let ix = ox * s.stride + kx - s.padding
                                    dst[ox] = (ix >= 0 && ix < W) ? src[ix] : 0
                                }
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// Average pooling with kernel = stride = k and no padding (`nn.AvgPool2d(k)`), over planes of
/// `[planes, H, W]` (any leading layout, e.g. `[C, B]`). Output `[planes, H/k, W/k]`.
public enum AvgPool2D {
    public static func forward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               planes: Int, height: Int, width: Int, kernel k: Int) {
        let Ho = height / k, Wo = width / k
        let scale = 1 / Float(k * k)
        Parallel.ranges(planes, work: planes * height * width) { range in for p in range {
            let src = x + p * height * width, dst = out + p * Ho * Wo
            if k == 2 {   // the general loop's sums in its order, written out so they vectorise
                for oy in 0..<Ho {
                    let r0 = src + 2 * oy * width, r1 = r0 + width, d = dst + oy * Wo
                    for ox in 0..<Wo { d[ox] = ((((0 + r0[2 * ox]) + r0[2 * ox + 1]) + r1[2 * ox]) + r1[2 * ox + 1]) * scale }
                }
                continue
            }
            for oy in 0..<Ho {
                for ox in 0..<Wo {
                    var s: Float = 0
                    for ky in 0..<k {
                        let r = src + (oy * k + ky) * width + ox * k
                        for kx in 0..<k { s += r[kx] }
                    }
                    dst[oy * Wo + ox] = s * scale
                }
            }
        } }
    }
}
