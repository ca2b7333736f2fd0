import XCTest
@testable import SyntheticShapes

/// Captions name the shape and one colour — the outline's when they say "outlined"/"outline", the
/// fill's when they say "filled" or describe a plain or dark scene — or a two-tone scene's two
/// colours (interior first), mark every two-tone scene as outlined or filled, mention only the true
/// background and size, and never use the downstream template.
final class CaptionTests: XCTestCase {
    func testCaptionsAgreeWithTheirScenes() {
        let shapes = Set(ShapeKind.allCases.map(\.name)), colors = Set(ShapeColor.allCases.map(\.name))
        let adjectives = Set(BackgroundTexture.allCases.map(\.adjective))
        var styles: [ShapeStyle: Int] = [:]
        var mentions = (shape: 0, color: 0, both: 0, background: 0, size: 0)
        var interiorMentions = 0, fillMentions = 0
        let count = 3000
        for i in 0..<count {
            let (scene, caption) = SyntheticCorpus.item(seed: 11, index: i, imageSize: 64)
            styles[scene.style, default: 0] += 1
            let words = caption.split(whereSeparator: { $0 == " " || $0 == "." || $0 == "," }).map(String.init)
            let shapeWords = words.filter(shapes.contains), colorWords = words.filter(colors.contains)
            XCTAssertTrue(shapeWords.allSatisfy { $0 == scene.shape.name }, "\(caption) vs \(scene.shape)")
            XCTAssertLessThanOrEqual(shapeWords.count, 1, caption)
            if colorWords.count == 2 {
                // "a blue star outlined in red", "… with a (thin) red outline": the interior colour first,
                // the labelled colour marks the outline.
                XCTAssertEqual(scene.style, .twoTone, caption)
                XCTAssertEqual(colorWords, [scene.interiorColor.name, scene.color.name], caption)
                let k = words.lastIndex(of: scene.color.name)!
                XCTAssertTrue((words[k - 1] == "in" && words[k - 2] == "outlined") || (k + 1 < words.count && words[k + 1] == "outline"), caption)
                interiorMentions += 1
            } else if words.contains("filled") {
                // "a filled blue star", "a star filled with blue": the fill (a two-tone interior).
                XCTAssertTrue(colorWords.allSatisfy { $0 == scene.interiorColor.name }, "\(caption) vs \(scene.interiorColor)")
                XCTAssertLessThanOrEqual(colorWords.count, 1, caption)
                XCTAssertNotEqual(scene.style, .dark, caption)
                if scene.style == .twoTone { fillMentions += 1 }
            } else {
                XCTAssertTrue(colorWords.allSatisfy { $0 == scene.color.name }, "\(caption) vs \(scene.color)")
                XCTAssertLessThanOrEqual(colorWords.count, 1, caption)
            }
            XCTAssertFalse(shapeWords.isEmpty && colorWords.isEmpty, caption)
            let outlined = words.contains("outlined") || words.contains("outline")
            XCTAssertFalse(outlined && scene.style != .twoTone, caption)
            XCTAssertTrue(scene.style != .twoTone || outlined || words.contains("filled"), caption)
            XCTAssertFalse(caption.contains("photo of"), caption)
            if let k = words.firstIndex(where: { $0 == "background" || $0 == "backdrop" }) {
                XCTAssertTrue(adjectives.contains(words[k - 1]), caption)
                XCTAssertEqual(words[k - 1], scene.background.adjective, caption)
                mentions.background += 1
            }
            for size in ["small", "large"] where words.contains(size) {
                XCTAssertEqual(scene.sizeWord, size, caption)
                mentions.size += 1
            }
            if !shapeWords.isEmpty { mentions.shape += 1 }
            if !colorWords.isEmpty { mentions.color += 1 }
            if !shapeWords.isEmpty && !colorWords.isEmpty { mentions.both += 1 }
            for (k, word) in words.enumerated() where word == "a" || word == "an" {
                guard k + 1 < words.count, let first = words[k + 1].first else { continue }
                XCTAssertEqual(word == "an", "aeiou".contains(first), caption)
            }
        }
        // Style mix 0.58 / 0.12 / 0.30 (binomial, n = 3000: ±4 σ ≈ ±0.036).
        XCTAssertEqual(Double(styles[.plain]!) / Double(count), 0.58, accuracy: 0.036)
        XCTAssertEqual(Double(styles[.dark]!) / Double(count), 0.12, accuracy: 0.025)
        XCTAssertEqual(Double(styles[.twoTone]!) / Double(count), 0.30, accuracy: 0.034)
        // 80 % full descriptions, 10 % shape-only, 10 % colour-only.
        XCTAssertEqual(Double(mentions.both) / Double(count), 0.80, accuracy: 0.04)
        XCTAssertEqual(Double(mentions.shape - mentions.both) / Double(count), 0.10, accuracy: 0.025)
        XCTAssertEqual(Double(mentions.color - mentions.both) / Double(count), 0.10, accuracy: 0.025)
        // Both colours named in 25 % of the two-tone full descriptions (0.30 · 0.8 · 0.25 = 6 % of all),
        // only the fill in 30 % of them plus 40 % of the two-tone colour-only captions
        // (0.30 · (0.8 · 0.3 + 0.1 · 0.4) = 8.4 %).
        XCTAssertEqual(Double(interiorMentions) / Double(count), 0.060, accuracy: 0.016)
        XCTAssertEqual(Double(fillMentions) / Double(count), 0.084, accuracy: 0.018)
        XCTAssertEqual(Double(mentions.background) / Double(count), 0.24, accuracy: 0.04)
        XCTAssertGreaterThan(mentions.size, 300)
    }

    func testArticlesFollowTheNextWord() {
        XCTAssertEqual(ShapeCaptioner.withArticles("{a} outlined red star"), "an outlined red star")
        XCTAssertEqual(ShapeCaptioner.withArticles("{a} orange heart on {a} striped background"), "an orange heart on a striped background")
    }
}
