import CLIP
import FeatureCache
import Imaging

/// The exact description of what an index run computes, as the store's `ExtractorRecord`: model
/// name and fingerprint, architecture, decode + resize + crop + normalisation, augmentation policy
/// with its scope, seed and K, and the code version. Any change of these gives another ext_id, so
/// features of different settings never mix. Used by `Indexer` and by the tests.
public enum ExtractorDescription {
    /// torchvision `RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3))` + `RandomHorizontalFlip()`.
    public static let augmentationPolicy = "rrc(0.08-1,3/4-4/3)+hflip"

    /// Decoders and transforms of view 0, with the model's resolution and normalisation.
    public static func preprocessing(_ p: PreprocessConfig) -> String {
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        return "libjpeg-turbo ISLOW fancy-upsampling, EXIF orientation ignored, libpng 8-bit (alpha dropped), RGB, "
            + "bicubic short side \(p.imageSize) (Pillow-exact, pass order pillow13), centre crop \(p.imageSize), "
            + "mean \(list(p.mean)) std \(list(p.std))"
    }

    /// The augmentation policy string: "none" for K = 0, the policy for every train item, or the
    /// policy restricted to few-shot draws ("… on train items of fewshot:16:1,2,3").
    public static func augmentation(views: Int, scope: ViewScope) -> String {
        guard views > 0 else { return "none" }
        switch scope {
        case .all: return augmentationPolicy
        case .fewShot: return "\(augmentationPolicy) on train items of \(scope)"
        }
    }

    public static func record(model: CLIPModel, modelName: String, augmentedViews: Int, scope: ViewScope,
                              seed: UInt64) -> ExtractorRecord {
        ExtractorRecord(modelName: modelName, modelFingerprint: model.directory.fingerprint.hex,
                        architecture: model.architecture.summary, embedDim: model.architecture.embedDim,
                        preprocessing: preprocessing(model.directory.preprocess),
                        augmentation: augmentation(views: augmentedViews, scope: scope),
                        augmentationSeed: augmentedViews > 0 ? Int(truncatingIfNeeded: seed) : 0,
                        augmentedViews: augmentedViews)
    }

    /// The model's normalisation as `Imaging` takes it.
    public static func normalization(_ p: PreprocessConfig) throws -> Normalization {
        guard p.mean.count == 3, p.std.count == 3 else {
            throw IndexingError("model preprocessing has \(p.mean.count) means and \(p.std.count) stds; give 3 of each (RGB) in the model config")
        }
        return Normalization(mean: SIMD3(p.mean[0], p.mean[1], p.mean[2]), std: SIMD3(p.std[0], p.std[1], p.std[2]))
    }
}
