/// One labelled image of a dataset (Dassl's `Datum` without the domain). `path` is relative to the
/// dataset's `imageRoot`, exactly as a CoOp split JSON stores it (e.g. `Abyssinian_1.jpg` for
/// OxfordPets, `cars_train/00001.jpg` for StanfordCars, `train/n01440764/x.JPEG` for ImageNet).
/// `label` is 0-based; `classname` is the raw name (underscores kept; see `PromptTemplates.displayName`).
/// Produced by the readers, consumed by the indexer and the tuner.
public struct DatasetItem: Hashable, Sendable {
    public var path: String
    public var label: Int
    public var classname: String

    public init(path: String, label: Int, classname: String) {
        self.path = path
        self.label = label
        self.classname = classname
    }
}
