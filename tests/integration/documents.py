"""The GraphQL documents the integration suite sends, as a storefront and the Dashboard would."""

import graphene


def global_id(type_name, pk):
    return graphene.Node.to_global_id(type_name, pk)


AVAILABLE_GATEWAYS = """
query Gateways($id: ID!) {
  checkout(id: $id) {
    totalPrice { gross { amount currency } }
    availablePaymentGateways { id name currencies config { field value } }
  }
}
"""

PAYMENT_CREATE = """
mutation PaymentCreate($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) {
    payment { id chargeStatus total { amount currency } }
    errors { field code message }
  }
}
"""

CHECKOUT_COMPLETE = """
mutation Complete($id: ID!, $paymentData: JSONString) {
  checkoutComplete(id: $id, paymentData: $paymentData) {
    order { id number status paymentStatus total { gross { amount currency } } }
    confirmationNeeded
    confirmationData
    errors { field code message }
  }
}
"""

ORDER_CAPTURE = """
mutation Capture($id: ID!, $amount: PositiveDecimal!) {
  orderCapture(id: $id, amount: $amount) {
    order { id paymentStatus totalCharged { amount } }
    errors { field code message }
  }
}
"""

ORDER_REFUND = """
mutation Refund($id: ID!, $amount: PositiveDecimal!) {
  orderRefund(id: $id, amount: $amount) {
    order { id paymentStatus totalCharged { amount } totalRefunded { amount } }
    errors { field code message }
  }
}
"""

ORDER_VOID = """
mutation Void($id: ID!) {
  orderVoid(id: $id) {
    order { id paymentStatus }
    errors { field code message }
  }
}
"""

PLUGIN_UPDATE = """
mutation PluginUpdate($id: ID!, $channelId: ID, $input: PluginUpdateInput!) {
  pluginUpdate(id: $id, channelId: $channelId, input: $input) {
    plugin {
      channelConfigurations {
        active
        channel { slug }
        configuration { name value type label helpText }
      }
    }
    errors { field code message }
  }
}
"""

PLUGIN = """
query Plugin($id: ID!) {
  plugin(id: $id) {
    id
    name
    channelConfigurations {
      active
      channel { slug }
      configuration { name value type }
    }
  }
}
"""

ADD_PROMO_CODE = """
mutation AddPromoCode($id: ID!, $promoCode: String!) {
  checkoutAddPromoCode(id: $id, promoCode: $promoCode) {
    checkout { discount { amount } totalPrice { gross { amount } } }
    errors { field code message }
  }
}
"""
