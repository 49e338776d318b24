package exchangesim

func orderListRoutes() map[string]*route { return map[string]*route{} }
