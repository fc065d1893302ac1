/// What a dataset's class numbers mean, for printing predictions.
public enum ClassNames {
    /// Fashion-MNIST's classes, in label order.
    public static let fashionMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Names for `classes` classes of the data a run trained on: an image folder's class folders,
    /// Fashion-MNIST's own names, or else the class numbers.
    public static func of(_ options: TrainingOptions, classes: Int) -> [String] {
        if let directory = try? options.resolvedDataDirectory(), ImageFolderFormat.recognizes(directory) {
            let folders = ImageFolderFormat.subdirectories("\(directory)/train")
            if folders.count == classes { return folders }
        }
        return options.dataset == "fashion-mnist" && classes == fashionMNIST.count ? fashionMNIST : (0..<classes).map(String.init)
    }
}
