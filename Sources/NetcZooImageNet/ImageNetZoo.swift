public let placeholder2 = 0
