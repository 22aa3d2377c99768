namespace pb::testing {}
