/// Occupant's version, as `occupant version` prints it and Home Assistant shows it.
public let occupantVersion = "0.1.0"
