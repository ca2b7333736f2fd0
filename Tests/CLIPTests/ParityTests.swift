import Formats
import Foundation
import Kernels
import XCTest
@testable import CLIP

/// The Swift towers against open_clip (fp32, random weights, QuickGELU) on the fixtures of
/// `tools/fixtures/models.py`: every intermediate and the final features within 1e-4.
final class ParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    private func reference(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: ParityTests.fixtures.appendingPathComponent("\(name).ref.safetensors"))
    }

    private func assertClose(_ actual: UnsafePointer<Float>, _ expected: Tensor, _ label: String,
                             tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
        var worst: Float = 0, scale: Float = 0
        for i in 0..<expected.count {
            worst = max(worst, abs(actual[i] - expected[i]))
            scale = max(scale, abs(expected[i]))
        }
        XCTAssertGreaterThan(scale, 0, "\(label): empty reference", file: file, line: line)
        XCTAssertLessThanOrEqual(worst, tolerance * max(1, scale), "\(label): max |Δ| \(worst) (max |ref| \(scale))",
                                 file: file, line: line)
    }

    private func checkText(_ name: String) throws {
        let model = try CLIPModel(directory: ParityTests.fixtures.appendingPathComponent(name), loadImageTower: false)
        let ref = try reference(name)
        let tokens = try ref.int64s("text.tokens").map(Int32.init)
        let T = 77, N = tokens.count / T, W = model.text.width
        let rows = (0..<N).map { Array(tokens[$0 * T..<($0 + 1) * T]) }
        XCTAssertEqual(model.logitScale, expf(try ref.tensor("logit_scale")[0]), accuracy: 1e-4)

        // intermediates from a pass that keeps its activations (the training path)
        let eots = rows.map(TextTransformer.eotIndex)
        let length = eots.max()! + 1
        XCTAssertEqual(length, T, "the fixture's last EOT is at 76: this pass runs every position")
        let x = Tensor(shape: [N, T, W])
        for (n, row) in rows.enumerated() { model.text.embedTokens(row[...], into: x.data + n * T * W) }
        let pass = SuffixPass(encoder: model.text, embeddings: x.data, count: N, length: T, eots: eots, keepActivations: true)
        for (i, cache) in pass.caches.enumerated() {
            if i == 0 { assertClose(cache.input, try ref.tensor("text.x0"), "text.x0") }
            else { assertClose(cache.input, try ref.tensor("text.block\(i - 1).out"), "text.block\(i - 1).out") }
            assertClose(cache.ln1, try ref.tensor("text.block\(i).ln_1"), "text.block\(i).ln_1")
            assertClose(cache.middle, try ref.tensor("text.block\(i).after_attn"), "text.block\(i).after_attn")
            assertClose(cache.ln2, try ref.tensor("text.block\(i).ln_2"), "text.block\(i).ln_2")
            assertClose(cache.act, try ref.tensor("text.block\(i).mlp_act"), "text.block\(i).mlp_act")
        }
        assertClose(pass.pooledInput.data, try pooledRows(ref.tensor("text.block\(pass.caches.count - 1).out"), eots: eots, width: W),
                    "last block at EOT")
        assertClose(pass.features.data, try ref.tensor("text.features"), "text.features (training path)")
        // the inference path, cut after each chunk's last EOT, one prompt at a time and all together
        let all = model.text.encode(tokens: rows)
        assertClose(all.data, try ref.tensor("text.features"), "text.features")
        for lanes in [1, 2, 3] {   // rows split into slices run at once, evenly and unevenly
            let split = model.text.encode(tokens: rows, lanes: lanes)
            assertClose(split.data, try ref.tensor("text.features"), "text.features, \(lanes) lanes")
        }
        let single = model.text.encode(tokens: [rows[0]])
        let expected = try ref.tensor("text.features")
        let firstRow = Tensor(shape: [1, single.count], values: Array(expected.toArray().prefix(single.count)))
        assertClose(single.data, firstRow, "text.features, row 0 alone (4 positions)")
    }

    private func pooledRows(_ hidden: Tensor, eots: [Int], width W: Int) -> Tensor {
        let out = Tensor(shape: [eots.count, W])
        for (n, e) in eots.enumerated() { (out.data + n * W).update(from: hidden.data + (n * 77 + e) * W, count: W) }
        return out
    }

    /// An image's features are bit-identical to its features alone, in every slot of a batch of
    /// 4 or 5, for any lane count (a resumed, sharded or merged index run stores the same bits as
    /// an uninterrupted one), whichever OpenBLAS kernel family runs (`KernelFamilyTests`).
    private func checkSlotIndependence(_ encoder: ImageEncoder, file: StaticString = #filePath, line: UInt = #line) throws {
        let R = encoder.imageSize, plane = 3 * R * R, D = encoder.embedDim
        for B in [4, 5] {
            let pixels = Tensor(uninitializedShape: [B, 3, R, R]), rotated = Tensor(uninitializedShape: [B, 3, R, R])
            for i in 0..<pixels.count { pixels[i] = Float((i * 7919) % 255) / 127.5 - 1 }
            for b in 0..<B { (rotated.data + (b + 1) % B * plane).update(from: pixels.data + b * plane, count: plane) }
            let alone = Tensor(uninitializedShape: [B, D])
            for b in 0..<B {
                let single = encoder.encode(pixels: pixels.data + b * plane, batch: 1, lanes: nil)
                withExtendedLifetime(single) { (alone.data + b * D).update(from: single.data, count: D) }
            }
            for lanes in [1, 2, 3, 4] {
                let a = encoder.encode(pixels: pixels.data, batch: B, lanes: lanes)
                let r = encoder.encode(pixels: rotated.data, batch: B, lanes: lanes)
                let moved = (0..<B * D).filter { a[$0].bitPattern != r[(($0 / D + 1) % B) * D + $0 % D].bitPattern }.count
                XCTAssertEqual(moved, 0, "batch \(B), \(lanes) lanes: features changed with the slot", file: file, line: line)
                let batched = (0..<B * D).filter { a[$0].bitPattern != alone[$0].bitPattern }.count
                XCTAssertEqual(batched, 0, "batch \(B), \(lanes) lanes: features differ from the image alone", file: file, line: line)
            }
        }
    }

    private func checkImage(_ name: String) throws {
        let model = try CLIPModel(directory: ParityTests.fixtures.appendingPathComponent(name))
        let ref = try reference(name)
        let pixels = try ref.tensor("image.pixels")
        var traced: [String: Tensor] = [:]
        let features = model.image!.encode(pixels: pixels.data, batch: pixels.shape[0]) { traced[$0] = $1.copy() }
        var checked = 0
        for key in ref.names where key.hasPrefix("image.") && key != "image.pixels" && key != "image.features" {
            guard let mine = traced[key] else { XCTFail("\(name): no trace for \(key)"); continue }
            let expected = try ref.tensor(key)
            XCTAssertEqual(mine.count, expected.count, key)
            assertClose(mine.data, expected, "\(name) \(key)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 5)
        assertClose(features.data, try ref.tensor("image.features"), "\(name) image.features")
        // the batch split into slices run at once (the untraced default)
        XCTAssertGreaterThanOrEqual(pixels.shape[0], 2)
        for lanes in [2, 3] {
            let split = model.image!.encode(pixels: pixels.data, batch: pixels.shape[0], lanes: lanes)
            assertClose(split.data, try ref.tensor("image.features"), "\(name) image.features, \(lanes) lanes")
        }
        try checkSlotIndependence(model.image!)
        try checkBF16(model.image!, name: name, pixels: pixels, reference: try ref.tensor("image.features"))
    }

    /// `--precision bf16`: features within cosine 0.999 of the FP32 reference, and still
    /// independent of the slot, the batch and the lanes.
    private func checkBF16(_ encoder: ImageEncoder, name: String, pixels: Tensor, reference: Tensor) throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        encoder.use(.bf16)
        defer { encoder.use(.fp32) }
        let B = pixels.shape[0], D = encoder.embedDim
        let features = encoder.encode(pixels: pixels.data, batch: B)
        let cosines = (0..<B).map { Reduce.cosine(features.data + $0 * D, reference.data + $0 * D, count: D) }
        print("\(name) bf16 vs fp32 reference: cosine min \(cosines.min()!), mean \(cosines.reduce(0, +) / Float(B))")
        XCTAssertGreaterThanOrEqual(cosines.min()!, 0.999, "\(name): \(cosines)")
        XCTAssertLessThan(cosines.min()!, 1, "\(name): bf16 features should differ from fp32 ones")
        try checkSlotIndependence(encoder)
    }

    func testViTTextTower() throws { try checkText("tiny-vit") }
    func testResNetModelTextTower() throws { try checkText("tiny-rn") }
    func testViTImageTower() throws { try checkImage("tiny-vit") }
    func testModifiedResNetImageTower() throws { try checkImage("tiny-rn") }
}
