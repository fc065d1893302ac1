print("netc")
