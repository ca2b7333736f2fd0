/// A dataset's hand-crafted prompts: the single zero-shot template of CoOp's
/// `zsclip.py` (`CUSTOM_TEMPLATES`) and the ensembling list of `ZeroshotCLIP2`. Templates contain
/// one "{}" for the class name. Used by zero-shot evaluation and prompt ensembling.
public struct DatasetTemplates: Equatable, Sendable {
    /// The dataset's own template, e.g. "a photo of a {}, a type of pet.".
    public let zeroShot: String
    /// `IMAGENET_TEMPLATES_SELECT`, plus `zeroShot` appended for every dataset whose name is not "ImageNet".
    public let ensemble: [String]

    public init(zeroShot: String, appendToEnsemble: Bool) {
        self.zeroShot = zeroShot
        self.ensemble = PromptTemplates.imagenetTemplatesSelect + (appendToEnsemble ? [zeroShot] : [])
    }

    /// The templates a zero-shot classifier averages: a user's own `template`, else the ensemble
    /// or the dataset's hand-crafted prompt (`zeroshot`, `predict`, `classifier`).
    public func selected(template: String?, ensemble: Bool) -> [String] {
        template.map { [$0] } ?? (ensemble ? self.ensemble : [zeroShot])
    }
}

/// The per-dataset templates of CoOp, KgCoOp and ProGrad, and the class-name display rule.
public enum PromptTemplates {
    /// The default template ("a photo of a {}."), also used by generic layouts.
    public static let photo = "a photo of a {}."

    /// `CUSTOM_TEMPLATES` of CoOp's `trainers/zsclip.py`, keyed by canonical dataset name.
    public static let custom: [String: String] = [
        "OxfordPets": "a photo of a {}, a type of pet.",
        "OxfordFlowers": "a photo of a {}, a type of flower.",
        "FGVCAircraft": "a photo of a {}, a type of aircraft.",
        "DescribableTextures": "{} texture.",
        "EuroSAT": "a centered satellite photo of {}.",
        "StanfordCars": photo,
        "Food101": "a photo of {}, a type of food.",
        "SUN397": photo,
        "Caltech101": photo,
        "UCF101": "a photo of a person doing {}.",
        "ImageNet": photo,
        "ImageNetSketch": photo,
        "ImageNetV2": photo,
        "ImageNetA": photo,
        "ImageNetR": photo,
    ]

    /// KgCoOp's `CUSTOM_TEMPLATES` (`trainers/kgcoop.py`), keyed by canonical dataset name: the
    /// hand-crafted prompts of its anchor w^clip, CoOp's `custom` but for DescribableTextures.
    public static let kgcoop: [String: String] = custom.merging(["DescribableTextures": "a photo of a {}, a type of texture."]) { $1 }

    /// ProGrad's `CUSTOM_TEMPLATES` (`trainers/prograd.py`), keyed by canonical dataset name: the
    /// zero-shot teacher's prompt and, without its " {}.", the context init phrase. CoOp's `custom`
    /// but for the five datasets whose type phrase comes first (or, for textures, reads "a texture of").
    public static let prograd: [String: String] = custom.merging([
        "OxfordPets": "a type of pet, a photo of a {}.",
        "OxfordFlowers": "a type of flower, a photo of a {}.",
        "FGVCAircraft": "a type of aircraft, a photo of a {}.",
        "DescribableTextures": "a texture of {}.",
        "Food101": "a type of food, a photo of {}.",
    ]) { $1 }

    /// KgCoOp's anchor template for a dataset name (default `photo`, also for nil).
    public static func kgcoopTemplate(for datasetName: String?) -> String {
        datasetName.flatMap { kgcoop[$0] } ?? photo
    }

    /// ProGrad's teacher template for a dataset name (default `photo`, also for nil).
    public static func progradTemplate(for datasetName: String?) -> String {
        datasetName.flatMap { prograd[$0] } ?? photo
    }

    /// ProGrad's context init phrase: its template with " {}." removed ("a type of pet, a photo of a").
    public static func progradPhrase(for datasetName: String?) -> String {
        progradTemplate(for: datasetName).replacingOccurrences(of: " {}.", with: "")
    }

    /// `IMAGENET_TEMPLATES_SELECT` of `zsclip.py`, in order.
    public static let imagenetTemplatesSelect = [
        "itap of a {}.",
        "a bad photo of the {}.",
        "a origami {}.",
        "a photo of the large {}.",
        "a {} in a video game.",
        "art of the {}.",
        "a photo of the small {}.",
    ]

    /// Templates for a dataset name: its custom template (default `photo`) and the ensembling list,
    /// which gets that template appended unless the name is exactly "ImageNet" (as in `ZeroshotCLIP2`).
    public static func templates(for datasetName: String) -> DatasetTemplates {
        DatasetTemplates(zeroShot: custom[datasetName] ?? photo, appendToEnsemble: datasetName != "ImageNet")
    }

    /// A class name as CoOp puts it in prompts: "_" replaced by " ".
    public static func displayName(_ classname: String) -> String {
        classname.replacingOccurrences(of: "_", with: " ")
    }

    /// `template.format(displayName(classname))`: the first "{}" replaced by the display name.
    public static func prompt(_ template: String, classname: String) -> String {
        guard let range = template.range(of: "{}") else { return template }
        return template.replacingCharacters(in: range, with: displayName(classname))
    }
}
