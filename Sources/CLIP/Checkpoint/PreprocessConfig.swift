/// How images are prepared for the image tower: resize the short side to `imageSize` (bicubic),
/// centre-crop `imageSize`², scale to [0, 1], then `(x − mean[c]) / std[c]` per RGB channel.
/// Read from `open_clip_config.json` (`preprocess_cfg`) or HF `preprocessor_config.json`, else CLIP's
/// defaults; used by the imaging pipeline and hashed into the model fingerprint.
public struct PreprocessConfig: Equatable, Sendable {
    public var imageSize: Int
    public var mean: [Float]
    public var std: [Float]

    /// OpenAI CLIP's normalisation: the per-channel mean and std of `clip._transform` (RGB order).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init(imageSize: Int, mean: [Float] = PreprocessConfig.clipMean, std: [Float] = PreprocessConfig.clipStd) {
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
    }

    /// `{"image_size":224,"mean":[…],"std":[…]}`: keys sorted, no spaces, floats in Swift's shortest
    /// round-trip spelling. Stable across runs and platforms; part of the model fingerprint.
    public var canonicalJSON: String {
        func list(_ values: [Float]) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        return "{\"image_size\":\(imageSize),\"mean\":\(list(mean)),\"std\":\(list(std))}"
    }
}
