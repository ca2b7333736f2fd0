import CLIP
import Datasets
import Kernels

/// A method trained by `Trainer` (Dassl's loop: CoOp, CoCoOp, KgCoOp, ProGrad, CLIP-Adapter,
/// TaskRes): its definition says only how to build its learner, fresh or from a checkpoint; runs
/// start, resume and classify the same way for all of them.
public protocol LearnerMethod: MethodDefinition {
    /// A fresh learner for the context, its initial state drawn from `random`.
    static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner
    /// The checkpoint's parameters in a learner for the context.
    static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner
}

extension LearnerMethod {
    public static var officialCropScale: Double { 0.08 }
    public static func selection(shots: Int?) -> SelectionKind? { nil }
    public static var trainsOnAugmentedViews: Bool { true }

    public static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun {
        let learner = try learner(input.context, random: &random)
        return Trainer(learner: learner, hyperparameters: input.context.hyperparameters, data: input.train, random: random)
    }

    public static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun {
        let h = input.context.hyperparameters
        let trainer = Trainer(learner: try learner(checkpoint, context: input.context), hyperparameters: h, data: input.train,
                              random: TrainingRandom(seed: h.seed))
        try trainer.restore(checkpoint)
        return trainer
    }

    /// The learner itself (the prompt methods whose text is fixed once trained answer a
    /// `TextClassifier` instead).
    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        try learner(checkpoint, context: context)
    }

    /// Copies every parameter of `learner` from the checkpoint (same names, same sizes).
    static func load(_ checkpoint: PromptCheckpoint, into learner: PromptLearner) throws -> PromptLearner {
        for (name, tensor) in learner.parameters {
            tensor.data.update(from: try checkpoint.required(name, count: tensor.count).data, count: tensor.count)
        }
        return learner
    }
}

extension MethodContext {
    /// The prompt layout of the context's classes (ProGrad right-aligns its init phrase in the M
    /// context vectors).
    public func promptLayout(alignPhraseRight: Bool = false) throws -> PromptLayout {
        let h = hyperparameters
        return try PromptLayout(tokenizer: model.requireTokenizer(), classnames: classnames, contextLength: h.contextLength,
                                position: h.position, classSpecific: h.classSpecific && h.initPhrase == nil,
                                initPhrase: h.initPhrase, alignPhraseRight: alignPhraseRight, maxTokens: model.text.contextLength)
    }

    /// Token ids of `template` filled with each class name.
    public func tokens(_ template: String) throws -> [[Int32]] {
        try model.tokenize(classnames.map { PromptTemplates.prompt(template, classname: $0) })
    }
}
