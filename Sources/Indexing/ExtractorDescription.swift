import CLIP
import FeatureCache
import Imaging
import Kernels

/// The exact description of what an index run computes, as the store's records: the
/// `ExtractorRecord` (model name and fingerprint, architecture, decode + resize + crop +
/// normalisation, code version: what view 0 depends on) and the `RecipeRecord` of the augmented
/// views (policy and seed). Any change of the first gives another ext_id; augmentation settings
/// never do. Used by `Indexer` and by the tests.
public enum ExtractorDescription {
    /// Decoders and transforms of view 0, with the model's resolution and normalisation.
    public static func preprocessing(_ p: PreprocessConfig) -> String {
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        return "libjpeg-turbo ISLOW fancy-upsampling, EXIF orientation ignored, libpng 8-bit (alpha dropped), RGB, "
            + "bicubic short side \(p.imageSize) (Pillow-exact, pass order pillow13), centre crop \(p.imageSize), "
            + "mean \(list(p.mean)) std \(list(p.std))"
    }

    public static func record(model: CLIPModel, modelName: String, precision: Precision = .fp32) -> ExtractorRecord {
        ExtractorRecord(modelName: modelName, modelFingerprint: model.directory.fingerprint.hex,
                        architecture: model.architecture.summary, embedDim: model.architecture.embedDim,
                        preprocessing: preprocessing(model.directory.preprocess),
                        precision: precision == .fp32 ? nil : precision.rawValue)
    }

    /// The recipe of `--views K --seed S --crop-scale C` (the views' seeds derive from S; the
    /// policy is `RecipePolicy(cropScale: C).text`, "rrc(0.08-1,3/4-4/3)+hflip" for CoOp's 0.08).
    public static func recipe(seed: UInt64, cropScale: Double) -> RecipeRecord {
        RecipeRecord(policy: RecipePolicy(cropScale: cropScale).text, seed: Int(truncatingIfNeeded: seed))
    }

    /// The model's normalisation as `Imaging` takes it.
    public static func normalization(_ p: PreprocessConfig) throws -> Normalization {
        guard p.mean.count == 3, p.std.count == 3 else {
            throw IndexingError("model preprocessing has \(p.mean.count) means and \(p.std.count) stds; give 3 of each (RGB) in the model config")
        }
        return Normalization(mean: SIMD3(p.mean[0], p.mean[1], p.mean[2]), std: SIMD3(p.std[0], p.std[1], p.std[2]))
    }
}
