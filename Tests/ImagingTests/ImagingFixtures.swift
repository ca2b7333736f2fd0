import Foundation
import Hashing
import Imaging

/// `Tests/Fixtures/imaging/imaging.json`, written by tools/fixtures/imaging.py (Pillow + torchvision).
struct ImagingFixtures: Decodable {
    struct TensorSummary: Decodable {
        let sum: Double
        let sumsq: Double
        let sample_index: [Int]
        let sample_value: [Double]
    }
    struct Eval: Decodable {
        let n: Int
        let resized_width: Int
        let resized_height: Int
        let resized_sha256: String
        let crop_x: Int
        let crop_y: Int
        let cropped_sha256: String
        let tensor: TensorSummary
    }
    struct SourceImage: Decodable {
        let file: String
        let covers: String
        let width: Int
        let height: Int
        let decoded_sha256: String
        let decoded_raw: String?
        let eval: [Eval]
    }
    struct ResizeCase: Decodable {
        let file: String
        let width: Int
        let height: Int
        let sha256: String
        let sha256_horizontal_first: String
        let vertical_first: Bool
    }
    struct CropCase: Decodable {
        let file: String
        let x: Int
        let y: Int
        let width: Int
        let height: Int
        let n: Int
        let sha256: String
        let flipped_sha256: String
        let flipped_tensor: TensorSummary
    }
    let images: [SourceImage]
    let resizes: [ResizeCase]
    let crops: [CropCase]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/imaging")

    static func load() throws -> ImagingFixtures {
        let data = try Data(contentsOf: directory.appendingPathComponent("imaging.json"))
        return try JSONDecoder().decode(ImagingFixtures.self, from: data)
    }

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func decode(_ name: String) throws -> RGBImage { try ImageDecoder.decode(file: url(name)) }
}

func sha256Hex(_ bytes: [UInt8]) -> String { hexString(SHA256.digest(bytes)) }

/// The CHW tensor of `image` normalised with CLIP's constants.
func normalized(_ image: RGBImage) -> [Float] {
    var out = [Float](repeating: .nan, count: 3 * image.width * image.height)
    out.withUnsafeMutableBufferPointer { Preprocess.normalize(image, into: $0.baseAddress!) }
    return out
}
